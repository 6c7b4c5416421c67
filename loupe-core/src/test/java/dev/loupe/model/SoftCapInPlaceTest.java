package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.numeric.Scalars;
import dev.loupe.testing.RandomModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gemma 2's final soft-cap of logits no hook saw is made in place a chunk at a time (so that the end of a pass
 * holds the logits once, not twice): bit for bit the whole-array {@code cap·tanh(logits/cap)} that hooked logits
 * get, for chunks that split the logits anywhere, and the logits array itself is the one capped.
 */
class SoftCapInPlaceTest {
    @ParameterizedTest(name = "chunks of {0}")
    @ValueSource(ints = {64, 1000, 4096, Network.SOFT_CAP_CHUNK})
    void cappingInPlaceInChunksEqualsTheWholeArrayCap(int chunk) {
        TransformerConfig cfg = RandomModels.gemmaLikeConfig();
        assertThat(cfg.softCapsOutputLogits()).isTrue();
        try (NDManager manager = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(18);
            // Odd sizes, values well past the cap on both sides.
            NDArray logits = manager.randomNormal(0f, 10f, new Shape(2, 37, 515), DataType.FLOAT32);
            float cap = (float) cfg.outputLogitsSoftCap();
            float[] expected = Scalars.muli(Scalars.div(logits, cap).tanh(), cap).toFloatArray();
            assertThat(Network.softCapLogits(logits, cfg, false, true, chunk).toFloatArray()).containsExactly(expected);

            NDArray owned = logits.duplicate();
            NDArray capped = Network.softCapLogits(owned, cfg, true, true, chunk);
            assertThat(capped).isSameAs(owned);
            assertThat(capped.toFloatArray()).containsExactly(expected);
            // A view of padded logits is capped whole (a reshape of it would be a copy).
            NDArray padded = manager.zeros(new Shape(2, 37, 520)).concat(logits, 2);
            NDArray view = padded.get(":, :, 520:");
            assertThat(Network.softCapLogits(view, cfg, true, false, chunk).toFloatArray()).containsExactly(expected);
        }
    }
}
