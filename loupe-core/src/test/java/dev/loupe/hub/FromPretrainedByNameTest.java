package dev.loupe.hub;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.TensorAssert;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code HookedTransformer.fromPretrained("gpt2-small")} end to end: the settings come from system
 * properties named as huggingface_hub's environment variables (a test cannot set the environment).
 */
class FromPretrainedByNameTest {
    private static final Path GPT2_TOK = Fixtures.model("gpt2-tok");

    @TempDir
    Path temp;

    private LoopbackHub hub;
    private final Map<String, String> saved = new HashMap<>();

    @BeforeEach
    void pointTheEnvironmentAtALoopbackHub() {
        hub = LoopbackHub.start();
        // The Hub's "gpt2" repository holds the tiny real-vocabulary GPT-2 here.
        hub.addModel("gpt2", GPT2_TOK);
        setProperty("HF_ENDPOINT", hub.endpoint());
        setProperty("HF_HUB_CACHE", temp.resolve("hub").toString());
        setProperty("HF_HUB_OFFLINE", "0");
        setProperty("HF_TOKEN", "");
        setProperty("HF_HOME", temp.resolve("huggingface").toString());
    }

    @AfterEach
    void restore() {
        saved.forEach((name, value) -> {
            if (value == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, value);
            }
        });
        hub.close();
    }

    @Test
    void anAliasDownloadsItsOfficialModelAndGivesTheLogitsOfTheFolder() {
        try (HookedTransformer byName = HookedTransformer.fromPretrainedNoProcessing("gpt2-small");
                HookedTransformer local = HookedTransformer.fromPretrainedNoProcessing(GPT2_TOK);
                NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = local.toTokens("Hello, world! The Hub is on loopback.", manager);
            TensorAssert.assertClose("logits", byName.forward(tokens), local.forward(tokens), 0.0);
            assertThat(byName.config().modelName()).isEqualTo("gpt2");
        }
        assertThat(temp.resolve("hub/models--gpt2/refs/main")).isRegularFile();
        assertThat(hub.requests()).extracting(LoopbackHub.Request::path)
                .contains("/gpt2/resolve/main/config.json");
    }

    @Test
    void processedWeightsByNameEqualProcessedWeightsOfTheFolder() {
        try (HookedTransformer byName = HookedTransformer.fromPretrained("gpt2");
                HookedTransformer local = HookedTransformer.fromPretrained(GPT2_TOK);
                NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = local.toTokens("Processed the same way.", manager);
            TensorAssert.assertClose("logits", byName.forward(tokens), local.forward(tokens), 0.0);
        }
    }

    private void setProperty(String name, String value) {
        saved.putIfAbsent(name, System.getProperty(name));
        System.setProperty(name, value);
    }
}
