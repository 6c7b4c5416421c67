package dev.loupe.hub;

import dev.loupe.LoupeException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Where the Hub is, where its cache lies, whether to go online, and the token to send, read from
 * the environment variables Python's {@code huggingface_hub} reads, with the same defaults:
 *
 * <ul>
 *   <li>{@code HF_ENDPOINT}: the Hub's address (default {@code https://huggingface.co});
 *   <li>{@code HF_HUB_CACHE} (or the older {@code HUGGINGFACE_HUB_CACHE}): the cache folder,
 *       default {@code $HF_HOME/hub}; {@code HF_HOME} defaults to {@code $XDG_CACHE_HOME/huggingface},
 *       and that to {@code ~/.cache/huggingface};
 *   <li>{@code HF_HUB_OFFLINE} (or {@code TRANSFORMERS_OFFLINE}) = {@code 1}, {@code ON},
 *       {@code YES} or {@code TRUE}: never touch the network, read the cache only;
 *   <li>{@code HF_TOKEN}: sent as {@code Authorization: Bearer <token>} (gated and private
 *       repositories); without it, the token file {@code huggingface-cli login} writes
 *       ({@code HF_TOKEN_PATH}, default {@code $HF_HOME/token}) if there is one;
 *   <li>{@code HF_HUB_DOWNLOAD_TIMEOUT}: seconds a download may wait for the server's answer or,
 *       while the body arrives, for its next bytes (default 10); a body that stalls or trickles
 *       slower fails the try;
 *   <li>{@code HF_HUB_ETAG_TIMEOUT}: seconds a metadata (HEAD) request may wait for its answer
 *       (default 10). As in huggingface_hub, 0 or an empty value means the default.
 * </ul>
 *
 * <p>{@link #fromEnvironment()} also reads each of these names as a Java system property, which wins
 * over the environment variable ({@code java -DHF_HUB_OFFLINE=1 ...}); that is how a test or a
 * launcher that cannot change the process environment points Loupe at another Hub or cache.
 *
 * @param endpoint the Hub's base URL, without a trailing slash
 * @param hubCache the cache folder ({@code .../huggingface/hub})
 * @param offline whether to read the cache only
 * @param token the access token, or null for anonymous requests
 * @param downloadTimeout how long a download waits for an answer and then for each next bytes
 *     ({@code HF_HUB_DOWNLOAD_TIMEOUT})
 * @param etagTimeout how long a metadata request waits for its answer ({@code HF_HUB_ETAG_TIMEOUT})
 */
public record HubSettings(String endpoint, Path hubCache, boolean offline, String token, Duration downloadTimeout,
        Duration etagTimeout) {
    /** The Hub huggingface_hub talks to by default. */
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    /** huggingface_hub's {@code DEFAULT_DOWNLOAD_TIMEOUT} and {@code DEFAULT_ETAG_TIMEOUT}: 10 seconds. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    /** The variables {@link #fromEnvironment()} also takes from system properties. */
    static final Set<String> VARIABLES = Set.of("HF_ENDPOINT", "HF_HOME", "XDG_CACHE_HOME", "HF_HUB_CACHE",
            "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HF_TOKEN_PATH",
            "HF_HUB_DOWNLOAD_TIMEOUT", "HF_HUB_ETAG_TIMEOUT");

    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");

    public HubSettings {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(hubCache, "hubCache");
        endpoint = stripTrailingSlashes(endpoint);
        if (!endpoint.startsWith("http://") && !endpoint.startsWith("https://")) {
            throw new LoupeException("HF_ENDPOINT must be an http:// or https:// URL such as " + DEFAULT_ENDPOINT
                    + ", got '" + endpoint + "'");
        }
        if (token != null && token.isBlank()) {
            token = null;
        }
        downloadTimeout = positive(downloadTimeout, "HF_HUB_DOWNLOAD_TIMEOUT");
        etagTimeout = positive(etagTimeout, "HF_HUB_ETAG_TIMEOUT");
    }

    /** Settings with huggingface_hub's default timeouts. */
    public HubSettings(String endpoint, Path hubCache, boolean offline, String token) {
        this(endpoint, hubCache, offline, token, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT);
    }

    /** The process's settings: environment variables, each overridden by a system property of the same name. */
    public static HubSettings fromEnvironment() {
        Map<String, String> variables = new HashMap<>(System.getenv());
        for (String name : VARIABLES) {
            String property = System.getProperty(name);
            if (property != null) {
                variables.put(name, property);
            }
        }
        return fromVariables(variables, Path.of(System.getProperty("user.home")));
    }

    /**
     * Settings from the given variables, as huggingface_hub would read them from an environment
     * holding exactly these.
     *
     * @param home the user's home folder, for the default cache
     */
    public static HubSettings fromVariables(Map<String, String> variables, Path home) {
        String endpoint = Optional.ofNullable(variables.get("HF_ENDPOINT")).orElse(DEFAULT_ENDPOINT);
        Path xdgCache = Optional.ofNullable(variables.get("XDG_CACHE_HOME")).map(Path::of)
                .orElse(home.resolve(".cache"));
        Path hfHome = Optional.ofNullable(variables.get("HF_HOME")).map(v -> expandHome(v, home))
                .orElse(xdgCache.resolve("huggingface"));
        Path legacyCache = Optional.ofNullable(variables.get("HUGGINGFACE_HUB_CACHE")).map(v -> expandHome(v, home))
                .orElse(hfHome.resolve("hub"));
        Path hubCache = Optional.ofNullable(variables.get("HF_HUB_CACHE")).map(v -> expandHome(v, home))
                .orElse(legacyCache);
        String offlineValue = variables.get("HF_HUB_OFFLINE");
        if (offlineValue == null || offlineValue.isEmpty()) {
            offlineValue = variables.get("TRANSFORMERS_OFFLINE");
        }
        boolean offline = offlineValue != null && TRUE_VALUES.contains(offlineValue.toUpperCase(Locale.ROOT));
        String token = variables.get("HF_TOKEN");
        if (token == null || token.isBlank()) {
            Path tokenFile = Optional.ofNullable(variables.get("HF_TOKEN_PATH")).map(v -> expandHome(v, home))
                    .orElse(hfHome.resolve("token"));
            token = TokenFile.read(tokenFile);
        }
        return new HubSettings(endpoint, hubCache, offline, token == null ? null : token.strip(),
                seconds(variables, "HF_HUB_DOWNLOAD_TIMEOUT"), seconds(variables, "HF_HUB_ETAG_TIMEOUT"));
    }

    /** The same settings with offline mode on or off. */
    public HubSettings withOffline(boolean offline) {
        return new HubSettings(endpoint, hubCache, offline, token, downloadTimeout, etagTimeout);
    }

    /** The same settings with another cache folder. */
    public HubSettings withHubCache(Path hubCache) {
        return new HubSettings(endpoint, hubCache, offline, token, downloadTimeout, etagTimeout);
    }

    /** The same settings with other timeouts for downloads and metadata requests. */
    public HubSettings withTimeouts(Duration downloadTimeout, Duration etagTimeout) {
        return new HubSettings(endpoint, hubCache, offline, token, downloadTimeout, etagTimeout);
    }

    /** Never prints the token itself. */
    @Override
    public String toString() {
        return "HubSettings[endpoint=" + endpoint + ", hubCache=" + hubCache + ", offline=" + offline
                + ", token=" + (token == null ? "none" : "set") + ", downloadTimeout=" + describe(downloadTimeout)
                + ", etagTimeout=" + describe(etagTimeout) + "]";
    }

    /** A timeout as people write it: {@code 10 s}, {@code 0.5 s}. */
    static String describe(Duration timeout) {
        return BigDecimal.valueOf(timeout.toMillis()).movePointLeft(3).stripTrailingZeros().toPlainString() + " s";
    }

    /**
     * A number of seconds from a variable, as huggingface_hub reads its timeouts: unset, empty or 0
     * means the default. Fractions are allowed (huggingface_hub takes whole seconds).
     */
    private static Duration seconds(Map<String, String> variables, String name) {
        String value = variables.get(name);
        if (value == null || value.isBlank()) {
            return DEFAULT_TIMEOUT;
        }
        double seconds;
        try {
            seconds = Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            throw new LoupeException(name + " must be a number of seconds such as 10, got '" + value + "'");
        }
        if (seconds == 0) {
            return DEFAULT_TIMEOUT;
        }
        if (!(seconds > 0) || seconds > Duration.ofDays(1).toSeconds()) {
            throw new LoupeException(name + " must be a positive number of seconds (at most a day) such as 10, got '"
                    + value + "'");
        }
        return Duration.ofMillis(Math.max(1, Math.round(seconds * 1000)));
    }

    private static Duration positive(Duration timeout, String name) {
        if (timeout == null) {
            return DEFAULT_TIMEOUT;
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new LoupeException(name + " must be positive, got " + timeout);
        }
        return timeout;
    }

    private static Path expandHome(String value, Path home) {
        if (value.equals("~")) {
            return home;
        }
        return value.startsWith("~/") ? home.resolve(value.substring(2)) : Path.of(value);
    }

    private static String stripTrailingSlashes(String url) {
        String stripped = url.strip();
        while (stripped.endsWith("/")) {
            stripped = stripped.substring(0, stripped.length() - 1);
        }
        return stripped;
    }
}
