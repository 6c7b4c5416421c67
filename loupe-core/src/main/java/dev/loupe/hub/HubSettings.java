package dev.loupe.hub;

import dev.loupe.LoupeException;
import java.nio.file.Path;
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
 *       ({@code HF_TOKEN_PATH}, default {@code $HF_HOME/token}) if there is one.
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
 */
public record HubSettings(String endpoint, Path hubCache, boolean offline, String token) {
    /** The Hub huggingface_hub talks to by default. */
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    /** The variables {@link #fromEnvironment()} also takes from system properties. */
    static final Set<String> VARIABLES = Set.of("HF_ENDPOINT", "HF_HOME", "XDG_CACHE_HOME", "HF_HUB_CACHE",
            "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HF_TOKEN_PATH");

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
        return new HubSettings(endpoint, hubCache, offline, token == null ? null : token.strip());
    }

    /** The same settings with offline mode on or off. */
    public HubSettings withOffline(boolean offline) {
        return new HubSettings(endpoint, hubCache, offline, token);
    }

    /** The same settings with another cache folder. */
    public HubSettings withHubCache(Path hubCache) {
        return new HubSettings(endpoint, hubCache, offline, token);
    }

    /** Never prints the token itself. */
    @Override
    public String toString() {
        return "HubSettings[endpoint=" + endpoint + ", hubCache=" + hubCache + ", offline=" + offline
                + ", token=" + (token == null ? "none" : "set") + "]";
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
