package dev.loupe.lens;

import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lenses read TransformerLens-style runs: hooked (ablated, patched) ones, and caches the caller made. */
class LensOnHookedRunsTest {
    @TempDir
    Path dir;

    @Test
    void anAblationIsSeenByTheLens() {
        HookSpec zeroAttention = HookSpec.forward("blocks.0.hook_attn_out", (x, point) -> x.mul(0));
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager();
             TunedLens lens = TunedLens.load(saved(model, dir), model)) {
            NDArray tokens = Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), manager)
                    .get("input_ids");
            try (LensInputs clean = LensInputs.run(model, tokens);
                 LensInputs pre = LensInputs.run(model, tokens, null, LensHook.RESID_PRE, List.of(zeroAttention));
                 LensInputs mid = LensInputs.run(model, tokens, null, LensHook.RESID_MID, List.of(zeroAttention))) {
                // With block 0's attention zeroed, what its MLP reads is what entered the block.
                assertThat(maxAbsDiff(mid.hidden(0), pre.hidden(0))).isZero();
                assertThat(maxAbsDiff(lens.forward(mid.hidden(0), 0), lens.forward(pre.hidden(0), 0))).isZero();
                // Layer 1 (after block 0) changes, and the lens's reading with it.
                assertThat(maxAbsDiff(pre.hidden(1), clean.hidden(1))).isGreaterThan(1e-3);
                assertThat(maxAbsDiff(lens.forward(pre.hidden(1), 1), lens.forward(clean.hidden(1), 1))).isGreaterThan(1e-3);
                assertThat(maxAbsDiff(pre.logits(), clean.logits())).isGreaterThan(1e-3);
            }
        }
    }

    @Test
    void aCacheTheCallerMadeIsReadInPlaceOfARun() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("llama"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model("llama").resolve("reference.safetensors"), manager)
                    .get("input_ids");
            LogitLens lens = LogitLens.of(model);
            try (ActivationCache cache = model.runWithCache(tokens);
                 LensInputs fromCache = LensInputs.fromCache(cache, LensHook.RESID_PRE, model.config().nLayers());
                 LensInputs run = LensInputs.run(model, tokens)) {
                for (int layer = 0; layer < 2; layer++) {
                    assertThat(maxAbsDiff(lens.forward(fromCache.hidden(layer), layer), lens.forward(run.hidden(layer), layer)))
                            .isZero();
                }
                assertThat(cache.size()).as("still open: the caller owns it").isPositive();
            }
        }
    }

    /** A lens with random translators for {@code model}, saved in {@code dir} (so loading is exercised too). */
    private static Path saved(HookedTransformer model, Path dir) {
        try (TunedLens lens = TunedLens.create(model); NDManager manager = NDManager.newBaseManager()) {
            int d = model.config().dModel();
            for (int layer = 0; layer < lens.numLayers(); layer++) {
                lens.setWeight(layer, manager.randomNormal(0, 0.1f, new Shape(d, d), DataType.FLOAT32));
                lens.setBias(layer, manager.randomNormal(0, 0.1f, new Shape(d), DataType.FLOAT32));
            }
            lens.save(dir);
            return dir;
        }
    }
}
