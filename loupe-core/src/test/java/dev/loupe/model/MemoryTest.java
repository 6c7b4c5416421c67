package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookSpec;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ReturnType;
import dev.loupe.testing.Fixtures;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** Forward passes allocate nothing in the weights' manager and leave nothing behind in the caller's. */
@Isolated("uses autograd")
class MemoryTest {

    @Test
    void noOperationLeaksIntoTheWeightsManager() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager()) {
            int weightsBefore = model.weightsManager().getManagedArrays().size();
            model.weightsManager().cap(); // any array created there from now on throws
            NDArray tokens = Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), manager)
                    .get("input_ids");
            NDArray mask = tokens.onesLike();
            model.forward(tokens);
            model.forward(tokens, ForwardOptions.builder().returnType(ReturnType.BOTH).lossPerToken(true)
                    .attentionMask(mask).build());
            model.runWithHooks(tokens, HookSpec.forward("blocks.0.attn.hook_z", (z, p) -> z.mul(0)));
            try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.all().withGradients())) {
                assertThat(cache.size()).isEqualTo(80);
            }
            model.setUseAttnResult(true);
            model.setUseSplitQkvInput(true);
            model.setUseHookMlpIn(true);
            model.runWithCache(tokens).close();
            NDArray resid = model.forward(tokens, ForwardOptions.builder().stopAtLayer(1).build()).residual();
            model.forward(resid, ForwardOptions.builder().startAtLayer(1).build());
            assertThat(model.weightsManager().getManagedArrays()).hasSize(weightsBefore);
        }
    }

    @Test
    void repeatedRunsLeaveOnlyTheirOutputsInTheCallersManager() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), manager)
                    .get("input_ids");
            int before = manager.getManagedArrays().size();
            for (int i = 0; i < 50; i++) {
                model.forward(tokens).close();
                model.runWithCache(tokens).close();
                model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(
                        HookSpec.forward("blocks.1.hook_resid_pre", (r, p) -> r.mul(1)),
                        HookSpec.backward("blocks.0.hook_resid_pre", (g, p) -> {}))).close();
            }
            assertThat(manager.getManagedArrays()).hasSize(before);
        }
    }
}
