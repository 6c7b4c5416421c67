package dev.loupe.hub;

import java.nio.file.Path;
import java.util.Map;

/** Settings that point a client at a {@link LoopbackHub} and a cache folder of the test's own. */
final class HubTestSupport {
    private HubTestSupport() {}

    static HubSettings settings(LoopbackHub hub, Path cache) {
        return HubSettings.fromVariables(Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HUB_CACHE", cache.toString()),
                cache.resolveSibling("home"));
    }

    static HubClient client(LoopbackHub hub, Path cache) {
        return new HubClient(settings(hub, cache), DownloadProgress.QUIET);
    }
}
