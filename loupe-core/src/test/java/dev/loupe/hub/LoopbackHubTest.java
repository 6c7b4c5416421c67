package dev.loupe.hub;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A test with a fresh loopback Hub and an empty Hugging Face cache folder for each test method. */
abstract class LoopbackHubTest {
    @TempDir
    Path temp;

    LoopbackHub hub;
    /** The hub cache ({@code HF_HUB_CACHE}), not created yet. */
    Path cache;

    @BeforeEach
    void startHub() {
        hub = LoopbackHub.start();
        cache = temp.resolve(cacheFolder());
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    /** Where under the temporary folder the cache goes. */
    String cacheFolder() {
        return "hub";
    }
}
