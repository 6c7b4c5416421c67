package dev.loupe.sae.docs;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookScope;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.splice.SaeRuns;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.testing.Fixtures;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The "Sparse autoencoders" example of README.md, line for line (paths through the fixtures). */
class ReadmeSaeExampleTest {

    @Test
    void theSaeExampleRuns() {
        var gpt2 = Fixtures.model("gpt2");
        var saeDir = SaeFixtures.saeDir("gpt2/standard_resid_pre_l0");
        // --- README SAE example starts
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(gpt2);  // unprocessed, as SAELens
             NDManager manager = NDManager.newBaseManager();
             Sae sae = Sae.load(saeDir, manager)) {  // SAELens's cfg.json + sae_weights.safetensors
            NDArray tokens = manager.create(new long[][] {{1, 42, 7, 300, 12}});  // [1, 5]
            NDArray logits = SaeRuns.runWithSaes(model, tokens, List.of(sae), false);  // hook_resid_pre → decode(encode(x))
            try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, List.of(sae), true)) {  // error term on
                NDArray acts = cache.get("blocks.0.hook_resid_pre.hook_sae_acts_post");  // [1, 5, 128] feature activations
                // --- README SAE example pauses
                assertThat(acts.getShape().toString()).isEqualTo("(1, 5, 128)");
                assertThat(cache.keys()).doesNotContain("blocks.0.hook_resid_pre");
                // --- README SAE example resumes
            }
            NDArray ablated = SaeRuns.runWithHooksWithSaes(model, tokens, List.of(sae), true,  // feature 106 off
                    HookSpec.forward("blocks.0.hook_resid_pre.hook_sae_acts_post",
                            (a, hook) -> { a.set(new NDIndex("..., 106"), 0f); return a; }));
            try (HookScope scope = SaeRuns.withSaes(model, List.of(sae), false)) {  // every run inside splices the SAE
                NDArray again = model.forward(tokens);  // = logits
                // --- README SAE example ends
                assertThat(again.sub(logits).abs().max().getFloat()).isZero();
            }
            NDArray clean = model.forward(tokens);
            assertThat(logits.sub(clean).abs().max().getFloat()).isGreaterThan(1e-3f);
            assertThat(ablated.getShape()).isEqualTo(clean.getShape());
        }
    }
}
