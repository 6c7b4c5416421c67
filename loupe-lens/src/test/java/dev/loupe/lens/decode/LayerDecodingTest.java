package dev.loupe.lens.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Decoding from a layer against {@code tuned.layer_{i}.no_cache_refeed} of
 * testdata/lens_extra/generate.safetensors (README section e): greedy decoding through the shared tuned
 * lens's translator i, 8 new tokens after a 6-token prompt, by full recomputation. Token ids exact.
 */
class LayerDecodingTest {
    private static HookedTransformer model;
    private static TunedLens lens;
    private static NDManager manager;
    private static Map<String, NDArray> generated;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        lens = TunedLens.load(Fixtures.ROOT.resolve("lens"), model);
        manager = NDManager.newBaseManager();
        generated = Fixtures.readAll(Fixtures.ROOT.resolve("lens_extra/generate.safetensors"), manager);
    }

    @AfterAll
    static void close() {
        manager.close();
        lens.close();
        model.close();
    }

    @ParameterizedTest(name = "layer {0}, KV cache {1}")
    @CsvSource({"0, true", "0, false", "1, true", "1, false"})
    void aBatchDecodesAsTheReference(int layer, boolean kvCache) {
        GenerateOptions options = GenerateOptions.greedy(8).withUsePastKvCache(kvCache);
        NDArray out = LayerDecoding.generate(model, lens, layer, generated.get("prompt"), null, options);
        assertThat(out.toLongArray()).containsExactly(reference(layer).toLongArray());
    }

    @ParameterizedTest(name = "layer {0}, KV cache {1}")
    @CsvSource({"0, true", "0, false", "1, true", "1, false"})
    void eachRowAloneDecodesAsTheReference(int layer, boolean kvCache) {
        GenerateOptions options = GenerateOptions.greedy(8).withUsePastKvCache(kvCache);
        for (int row = 0; row < 3; row++) {
            NDArray prompt = generated.get("prompt").get(row + ":" + (row + 1));
            NDArray out = LayerDecoding.generate(model, lens, layer, prompt, null, options);
            assertThat(out.toLongArray()).as("row %d", row)
                    .containsExactly(reference(layer).get(row + ":" + (row + 1)).toLongArray());
        }
    }

    @Test
    void aLeftPaddedBatchDecodesEachRowAsAlone() {
        // Row 0 cut to its last 4 prompt tokens and left-padded to 6, beside row 1 unchanged.
        long[] prompt = generated.get("prompt").toLongArray();
        long pad = 50256;
        long[] padded = {pad, pad, prompt[2], prompt[3], prompt[4], prompt[5], prompt[6], prompt[7], prompt[8], prompt[9],
            prompt[10], prompt[11]};
        long[] mask = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        NDArray tokens = manager.create(padded, new Shape(2, 6));
        GenerateOptions options = GenerateOptions.greedy(8);
        long[] batch = LayerDecoding.generate(model, lens, 1, tokens, manager.create(mask, new Shape(2, 6)), options)
                .toLongArray();
        long[] shortAlone = LayerDecoding.generate(model, lens, 1, tokens.get("0:1, 2:"), null, options).toLongArray();
        long[] fullAlone = LayerDecoding.generate(model, lens, 1, tokens.get("1:2"), null, options).toLongArray();
        assertThat(Arrays.copyOfRange(batch, 6, 14)).as("the padded row's new tokens")
                .containsExactly(Arrays.copyOfRange(shortAlone, 4, 12));
        assertThat(Arrays.copyOfRange(batch, 14, 28)).as("the full row").containsExactly(fullAlone);
        assertThat(fullAlone).containsExactly(reference(1).get("1:2").toLongArray());
    }

    @Test
    void samplingFromTheSingleMostLikelyTokenIsGreedy() {
        GenerateOptions options = GenerateOptions.greedy(8).sampling(1, null, 1f, 0f, 7);
        NDArray out = LayerDecoding.generate(model, lens, -1, generated.get("prompt"), null, options);
        assertThat(out.toLongArray()).containsExactly(reference(1).toLongArray());
    }

    @Test
    void samplingIsSeededAndReadsTheLens() {
        GenerateOptions options = GenerateOptions.greedy(8).sampling(null, null, 1f, 0f, 11);
        long[] first = LayerDecoding.generate(model, lens, 0, generated.get("prompt"), null, options).toLongArray();
        long[] again = LayerDecoding.generate(model, lens, 0, generated.get("prompt"), null, options).toLongArray();
        assertThat(again).containsExactly(first);
        long[] modelSampled = Generator.generate(model, generated.get("prompt"), null, options, null)
                .toLongArray();
        assertThat(first).as("layer 0's samples differ from the model's").isNotEqualTo(modelSampled);
    }

    @Test
    void theLibrarysReFeedQuirkGivesOtherTokens() {
        // What the library's generate wrote: its growing re-fed cache changes the tokens; Loupe does not copy it.
        for (int layer = 0; layer < 2; layer++) {
            assertThat(generated.get("tuned.layer_" + layer).toLongArray()).isNotEqualTo(reference(layer).toLongArray());
        }
    }

    @Test
    void aLayerOutsideTheLensIsRefused() {
        assertThatThrownBy(() -> LayerDecoding.generate(model, lens, 2, generated.get("prompt"), null,
                GenerateOptions.greedy(1))).isInstanceOf(LoupeException.class)
                .hasMessageContaining("outside this lens's 2 layers");
    }

    private static NDArray reference(int layer) {
        return generated.get("tuned.layer_" + layer + ".no_cache_refeed");
    }
}
