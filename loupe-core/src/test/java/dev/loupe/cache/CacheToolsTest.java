package dev.loupe.cache;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Neuron results, the full decomposition, logit attributions, batch slicing, and save/load. */
class CacheToolsTest {

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "bloom"})
    void theFullDecompositionSumsToTheResidual(String arch) {
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model(arch));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager).get("input_ids");
            try (ActivationCache cache = model.runWithCache(tokens)) {
                LabelledStack full = cache.fullResidDecomposition(StackOptions.defaults().withLayer(1), true);
                assertThat(full.labels()).contains("L0H0", "L0N0", "embed", "bias").doesNotContain("L1H0");
                assertClose(arch + " heads + neurons + embeds + bias = resid_pre 1", full.stack().sum(new int[] {0}),
                        cache.get("resid_pre", 1), 1e-4);
                LabelledStack atMlp = cache.fullResidDecomposition(StackOptions.defaults().withLayer(1).withMlpInput(true),
                        false);
                assertThat(atMlp.labels()).contains("L1H3", "0_mlp_out");
                NDArray mlpInput = model.config().hasResidMid() ? cache.get("resid_mid", 1) : cache.get("resid_pre", 1);
                if (model.config().hasResidMid()) {
                    assertClose(arch + " … = resid_mid 1", atMlp.stack().sum(new int[] {0}), mlpInput, 1e-5);
                }
                LabelledStack neurons = cache.stackNeuronResults(StackOptions.defaults().withInclRemainder(true));
                assertThat(neurons.labels()).hasSize(2 * model.config().dMlp() + 1).endsWith("remainder");
                assertClose(arch + " neurons + remainder", neurons.stack().sum(new int[] {0}), cache.get("resid_post", -1), 1e-4);
            }
        }
    }

    @Test
    void logitAttributionsOfTheDecompositionAddUpToTheLogit() {
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), manager).get("input_ids");
            try (ActivationCache cache = model.runWithCache(tokens)) {
                NDArray answers = tokens.get(":, -1"); // [batch]
                NDArray wrong = answers.add(1);
                LabelledStack parts = cache.decomposeResid(StackOptions.defaults().withPosSlice(PosSlice.at(-1)));
                NDArray attrs = cache.logitAttrs(parts.stack(), answers, wrong, PosSlice.at(-1)); // [components, batch]
                assertThat(attrs.getShape().toString()).isEqualTo("(" + parts.labels().size() + ", 2)");
                NDArray logits = cache.logits().get(":, -1, :");
                NDArray bU = model.stateDict().get("unembed.b_U");
                long[] right = answers.toLongArray();
                long[] left = wrong.toLongArray();
                for (int b = 0; b < 2; b++) {
                    float expected = logits.getFloat(b, right[b]) - bU.getFloat(right[b])
                            - (logits.getFloat(b, left[b]) - bU.getFloat(left[b]));
                    assertThat(attrs.get(new NDIndex(":, " + b)).sum().getFloat())
                            .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4f));
                }
            }
        }
    }

    @Test
    void batchSlicingAndSaveLoad(@TempDir Path dir) {
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), manager).get("input_ids");
            try (ActivationCache cache = model.runWithCache(tokens)) {
                assertThatThrownBy(cache::removeBatchDim).isInstanceOf(LoupeException.class).hasMessageContaining("batch of one");
                ActivationCache second = cache.applySliceToBatchDim(1, 2);
                ActivationCache single = second.removeBatchDim();
                assertThat(single.get("pattern", 0).getShape().toString()).isEqualTo("(4, 16, 16)");
                assertClose("row 1", single.get("resid_post", 1), cache.get("resid_post", 1).get(1), 0);
                assertThat(single.accumulatedResid(StackOptions.defaults()).stack().getShape().toString())
                        .isEqualTo("(3, 16, 32)");
                Path file = dir.resolve("cache.safetensors");
                cache.save(file);
                try (ActivationCache loaded = ActivationCache.load(file, model)) {
                    assertThat(loaded.keys()).containsExactlyElementsOf(cache.keys());
                    assertClose("logits", loaded.logits(), cache.logits(), 0);
                    assertClose("decomposition of the loaded cache", loaded.decomposeResid(StackOptions.defaults()).stack(),
                            cache.decomposeResid(StackOptions.defaults()).stack(), 0);
                }
            }
        }
    }
}
