package dev.loupe.sae.docs;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookScope;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.Metric;
import dev.loupe.sae.Sae;
import dev.loupe.sae.analysis.FeatureActivations;
import dev.loupe.sae.analysis.FeatureAttribution;
import dev.loupe.sae.analysis.FeatureLogits;
import dev.loupe.sae.analysis.TokenLogit;
import dev.loupe.sae.analysis.TopFeature;
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

    @Test
    void theFeatureAnalysisExampleRuns() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager();
             Sae sae = Sae.load(SaeFixtures.saeDir("gpt2/standard_resid_pre_l0"), manager)) {
            NDArray tokens = manager.create(new long[][] {{1, 42, 7, 300, 12}});
            // --- README SAE analysis example starts
            Metric logitDiff = logits -> logits.get("0, -1, 5").sub(logits.get("0, -1, 9"));  // a scalar of the logits
            try (FeatureActivations features = FeatureActivations.of(model, tokens, List.of(sae), true);  // [1, 5, 128]
                 FeatureAttribution attribution = FeatureAttribution.of(model, tokens, List.of(sae), logitDiff)) {
                List<TopFeature> top = features.topFeatures(sae, 0, 4, 5);  // the 5 most active at (0, 4), strongest first
                NDArray effect = attribution.attribution(sae);  // [1, 5, 128] d logitDiff / d acts_post · acts_post
                List<TopFeature> drivers = attribution.topFeatures(sae, 0, 4, 5);  // the features that raise it most there
                List<TokenLogit> promoted = FeatureLogits.of(model, sae).promoted(top.get(0).feature(), 10);  // W_dec[f]·W_U
                // --- README SAE analysis example ends
                assertThat(features.get(sae).getShape().toString()).isEqualTo("(1, 5, 128)");
                assertThat(effect.getShape()).isEqualTo(features.get(sae).getShape());
                assertThat(top).hasSize(5);
                assertThat(top.get(0).value()).isGreaterThanOrEqualTo(top.get(4).value());
                assertThat(drivers.get(0).value()).isGreaterThanOrEqualTo(drivers.get(4).value());
                assertThat(promoted).hasSize(10);
            }
        }
    }
}
