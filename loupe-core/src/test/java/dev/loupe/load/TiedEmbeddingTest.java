package dev.loupe.load;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.config.WeightDtype;
import dev.loupe.model.HookedTransformer;
import dev.loupe.numeric.StateDict;
import dev.loupe.process.ProcessOptions;
import dev.loupe.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A checkpoint that ties the unembedding to the embedding keeps one stored copy for both, until processing changes W_U. */
class TiedEmbeddingTest {

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"gpt2, FLOAT32", "gpt2, FLOAT16", "extra/gpt2_bf16, FLOAT16", "gpt_neo, FLOAT32", "bloom, FLOAT16"})
    void unprocessedWUIsAViewOfWE(String fixture, WeightDtype dtype) {
        try (LoadedModel loaded = ModelLoader.read(Fixtures.model(fixture), dtype)) {
            NDArray wE = loaded.stateDict().get("embed.W_E"); // [d_vocab, d_model]
            NDArray wU = loaded.stateDict().get("unembed.W_U"); // [d_model, d_vocab]
            assertThat(wU.getDataType()).isEqualTo(wE.getDataType());
            assertThat(wU.toFloatArray()).containsExactly(wE.transpose().duplicate().toFloatArray());
            // Writing W_E[3, 5] shows in W_U[5, 3] only if the two share their memory.
            wE.set(new NDIndex("3, 5"), 42f);
            assertThat(wU.get("5, 3").toType(DataType.FLOAT32, false).getFloat()).isEqualTo(42f);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"gemma, FLOAT32", "gemma, FLOAT16", "gemma2, FLOAT16"})
    void gemmasScaledWEAndItsWUShareOneStoredEmbedding(String fixture, WeightDtype dtype) {
        try (LoadedModel loaded = ModelLoader.read(Fixtures.model(fixture), dtype)) {
            StateDict.Scaled wE = StateDict.scaled(loaded.stateDict(), "embed.W_E").orElseThrow();
            NDArray wU = loaded.stateDict().get("unembed.W_U"); // [d_model, d_vocab]
            assertThat(wE.scale()).isEqualTo((float) Math.sqrt(loaded.config().dModel()));
            wE.stored().set(new NDIndex("3, 5"), 42f);
            assertThat(wU.get("5, 3").toType(DataType.FLOAT32, false).getFloat()).isEqualTo(42f);
            // Read by name, W_E is TransformerLens's: the embedding times √d_model, as the stored dtype multiplies.
            NDArray read = loaded.stateDict().get("embed.W_E");
            assertThat(read.toType(DataType.FLOAT32, false).toFloatArray())
                    .containsExactly(wE.stored().mul(wE.scale()).toType(DataType.FLOAT32, false).toFloatArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"gpt2", "gemma"})
    void processingMakesASeparateWU(String fixture) {
        // fold_ln and center_unembed compute a new W_U, which must not write through to W_E.
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model(fixture), ProcessOptions.defaults(),
                WeightDtype.FLOAT32)) {
            NDArray wE = model.stateDict().get("embed.W_E");
            float before = model.stateDict().get("unembed.W_U").get("5, 3").getFloat();
            wE.set(new NDIndex("3, 5"), 42f);
            assertThat(model.stateDict().get("unembed.W_U").get("5, 3").getFloat()).isEqualTo(before);
        }
    }
}
