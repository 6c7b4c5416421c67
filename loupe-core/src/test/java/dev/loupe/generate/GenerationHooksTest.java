package dev.loupe.generate;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.ActName;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookScope;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Hooks that fire while generating, and the activation cache of a whole generation. */
class GenerationHooksTest {

    private static NDArray prompt(String arch, NDManager manager) {
        return Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager).get("input_ids")
                .get(":, 0:6");
    }

    @Test
    void hooksInScopeFireAtEveryStepAndSteerTheSameWithAndWithoutTheCache() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = prompt("gpt2", manager);
            GenerateOptions greedy = GenerateOptions.greedy(8).withStopAtEos(false);
            NDArray plain = Generator.generate(model, tokens, null, greedy, null);
            List<Long> positions = new ArrayList<>();
            NDArray steering = manager.randomNormal(new Shape(model.config().dModel())).mul(3f);
            HookSpec steer = HookSpec.forward("blocks.1.hook_resid_pre", (resid, hook) -> {
                positions.add(resid.getShape().get(1));
                return resid.add(steering);
            });
            NDArray cached;
            NDArray recomputed;
            try (HookScope scope = model.hooks(steer)) {
                cached = Generator.generate(model, tokens, null, greedy, null);
                assertThat(positions).containsExactly(6L, 1L, 1L, 1L, 1L, 1L, 1L, 1L);
                recomputed = Generator.generate(model, tokens, null, greedy.withUsePastKvCache(false), null);
            }
            assertThat(cached.toLongArray()).containsExactly(recomputed.toLongArray());
            assertThat(cached.toLongArray()).isNotEqualTo(plain.toLongArray());
            assertThat(Generator.generate(model, tokens, null, greedy, null).toLongArray())
                    .as("the hook is gone with its scope").containsExactly(plain.toLongArray());
        }
    }

    @Test
    void hookRotKSeesEveryCachedKeyAndItsChangesAreNotStored() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("llama"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = prompt("llama", manager);
            GenerateOptions greedy = GenerateOptions.greedy(5).withStopAtEos(false);
            List<Long> keyLengths = new ArrayList<>();
            HookSpec halve = HookSpec.forward("blocks.0.attn.hook_rot_k", (k, hook) -> {
                keyLengths.add(k.getShape().get(1));
                return k.muli(0.5f);
            });
            try (HookScope scope = model.hooks(halve)) {
                NDArray cached = Generator.generate(model, tokens, null, greedy, null);
                assertThat(keyLengths).containsExactly(6L, 7L, 8L, 9L, 10L);
                NDArray recomputed = Generator.generate(model, tokens, null, greedy.withUsePastKvCache(false), null);
                assertThat(cached.toLongArray()).containsExactly(recomputed.toLongArray());
            }
        }
    }

    @Test
    void theCacheOfAGenerationHoldsWhatEveryStepComputed() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("mistral"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = prompt("mistral", manager);
            int last = model.config().nLayers() - 1;
            String name = ActName.of("resid_post", last);
            List<float[]> newest = new ArrayList<>();
            HookSpec record = HookSpec.forward(name, (resid, hook) -> {
                newest.add(resid.get(":, -1, :").toFloatArray());
                return resid;
            });
            GenerateOptions greedy = GenerateOptions.greedy(7).withStopAtEos(false);
            try (HookScope scope = model.hooks(record);
                 Generator.Generation generation = Generator.generateWithCache(model, tokens, null, greedy,
                         CacheOptions.matching(".*hook_resid_post"), null)) {
                assertThat(generation.tokens().getShape()).isEqualTo(new Shape(2, 13));
                NDArray resid = generation.cache().get(name);
                assertThat(resid.getShape()).isEqualTo(new Shape(2, 13, model.config().dModel()));
                // Step s read position 5 + s; the last pass ran once more over all 13.
                for (int step = 0; step < 7; step++) {
                    NDArray seen = manager.create(newest.get(step), new Shape(2, model.config().dModel()));
                    assertClose("step " + step, resid.get(":, " + (5 + step) + ", :"), seen, 1e-4);
                }
                assertThat(generation.cache().keys()).allMatch(key -> key.endsWith("hook_resid_post"));
            }
        }
    }
}
