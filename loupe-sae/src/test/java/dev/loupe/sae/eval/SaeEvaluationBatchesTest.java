package dev.loupe.sae.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SAELens's multi-batch averaging and {@code exclude_special_tokens}, on gpt2/standard_resid_pre_l0 (and the hook_z
 * SAE). Two batches of 2 prompts: the fixture's input_ids and a shifted copy ((id + 7) mod 512). The multi-batch result
 * must equal SAELens's pooling of the two single-batch results: per-token means averaged (equal token counts), ratios
 * recomputed from the averaged parts, relative_reconstruction_bias averaged per batch, explained_variance from the
 * per-batch parts computed here by hand. Tolerance 1e-5·max(1, |value|): the same float32 numbers summed in double in a
 * different order.
 */
class SaeEvaluationBatchesTest {
    private static final String NAME = "gpt2/standard_resid_pre_l0";
    private static SaeFixtures fixtures;

    @BeforeAll
    static void open() {
        fixtures = new SaeFixtures();
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    private static void close(String what, double actual, double expected) {
        System.out.printf("%s: %.9g vs %.9g%n", what, actual, expected);
        assertThat(Math.abs(actual - expected)).as(what + ": " + actual + " vs " + expected)
                .isLessThanOrEqualTo(1e-5 * Math.max(1, Math.abs(expected)));
    }

    private static double mean(double a, double b) {
        return (a + b) / 2;
    }

    @Test
    void severalBatchesAverageAsSaeLensDoes() {
        HookedTransformer model = fixtures.model(NAME);
        NDArray first = fixtures.reference(NAME).get("input_ids");
        NDArray second = first.add(7).mod(512);
        NDArray all = NDArrays.concat(new NDList(first, second), 0);
        try (Sae sae = Sae.load(SaeFixtures.saeDir(NAME), fixtures.manager())) {
            SaeEvaluation r0 = SaeEvaluation.evaluate(model, sae, first);
            SaeEvaluation r1 = SaeEvaluation.evaluate(model, sae, second);
            SaeEvaluation both = SaeEvaluation.evaluate(model, sae, all, SaeEvalOptions.of(2, 2));
            Map<String, Map<String, Double>> m0 = r0.asMap();
            Map<String, Map<String, Double>> m1 = r1.asMap();
            Map<String, Map<String, Double>> mb = both.asMap();
            for (String group : List.of("model_performance_preservation", "model_behavior_preservation",
                    "reconstruction_quality", "shrinkage", "sparsity")) {
                for (String metric : mb.get(group).keySet()) {
                    if (metric.endsWith("_score") || metric.equals("explained_variance")) {
                        continue; // recomputed from averaged parts below
                    }
                    close(group + "." + metric, mb.get(group).get(metric),
                            mean(m0.get(group).get(metric), m1.get(group).get(metric)));
                }
            }
            var perf = both.modelPerformancePreservation();
            close("ce_loss_score", perf.ceLossScore(), (perf.ceLossWithAblation() - perf.ceLossWithSae())
                    / (perf.ceLossWithAblation() - perf.ceLossWithoutSae()));
            var kl = both.modelBehaviorPreservation();
            close("kl_div_score", kl.klDivScore(), (kl.klDivWithAblation() - kl.klDivWithSae()) / kl.klDivWithAblation());
            assertThat(both.tokenStats()).isEqualTo(new SaeEvaluation.TokenStats(64, 64));

            // explained_variance: mean Σx², mean x² and mean Σ(x − x̂)² per batch, averaged, then combined.
            double[] parts = new double[3];
            for (NDArray batch : List.of(first, second)) {
                try (ActivationCache cache = model.runWithCache(batch)) {
                    NDArray x = cache.get(sae.hookName()).reshape(-1, 32);
                    NDArray xHat = sae.forward(x);
                    parts[0] += x.square().sum(new int[] {-1}).mean().getFloat() / 2;
                    parts[1] += x.square().mean().getFloat() / 2;
                    parts[2] += x.sub(xHat).square().sum(new int[] {-1}).mean().getFloat() / 2;
                }
            }
            close("explained_variance", both.reconstructionQuality().explainedVariance(),
                    1 - parts[2] / (parts[0] - parts[1] * parts[1]));

            float[] d0 = r0.features().featureDensity();
            float[] d1 = r1.features().featureDensity();
            float[] c0 = r0.features().consistentActivationHeuristic();
            float[] c1 = r1.features().consistentActivationHeuristic();
            for (int f = 0; f < d0.length; f++) {
                close("feature_density[" + f + "]", both.features().featureDensity()[f], mean(d0[f], d1[f]));
                double acts = 32.0 * (d0[f] + d1[f]);
                double prompts = (d0[f] == 0 ? 0 : 32.0 * d0[f] / c0[f]) + (d1[f] == 0 ? 0 : 32.0 * d1[f] / c1[f]);
                double expected = acts / prompts;
                float got = both.features().consistentActivationHeuristic()[f];
                if (Double.isNaN(expected)) {
                    assertThat(got).isNaN();
                } else {
                    assertThat(Math.abs(got - expected)).as("heuristic " + f).isLessThanOrEqualTo(1e-5 * expected);
                }
            }

            // One reconstruction batch, two sparsity batches: CE/KL of the first batch alone, the rest of both.
            SaeEvaluation mixed = SaeEvaluation.evaluate(model, sae, all, new SaeEvalOptions(2, 1, 2, Set.of()));
            close("mixed ce_loss_with_sae", mixed.modelPerformancePreservation().ceLossWithSae(),
                    r0.modelPerformancePreservation().ceLossWithSae());
            close("mixed l0", mixed.sparsity().l0(), both.sparsity().l0());
            assertThat(mixed.tokenStats()).isEqualTo(new SaeEvaluation.TokenStats(32, 64));

            assertThatThrownBy(() -> SaeEvaluation.evaluate(model, sae, first, SaeEvalOptions.of(2, 2)))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("needs 4 prompts");
        }
    }

    @Test
    void excludedTokensLeaveTheStatisticsAsSaeLensSpecifies() {
        HookedTransformer model = fixtures.model(NAME);
        Map<String, NDArray> ref = fixtures.reference(NAME);
        NDArray tokens = ref.get("input_ids");
        long[] ids = tokens.toLongArray();
        Set<Long> excluded = Set.of(ids[0], ids[16 + 5]);
        boolean[] keep = new boolean[ids.length];
        int kept = 0;
        for (int t = 0; t < ids.length; t++) {
            keep[t] = !excluded.contains(ids[t]);
            kept += keep[t] ? 1 : 0;
        }
        assertThat(kept).isBetween(2, 30);
        try (Sae sae = Sae.load(SaeFixtures.saeDir(NAME), fixtures.manager())) {
            SaeEvaluation all = SaeEvaluation.evaluate(model, sae, tokens);
            SaeEvaluation some = SaeEvaluation.evaluate(model, sae, tokens, SaeEvalOptions.of(2, 1).excluding(excluded));

            // Sparsity and density from SAELens's own activations, over the kept tokens.
            float[] acts = ref.get("splice.blocks.0.hook_resid_pre.hook_sae_acts_post").toFloatArray();
            int dSae = 128;
            double l0 = 0;
            double l1 = 0;
            double[] active = new double[dSae];
            for (int t = 0; t < ids.length; t++) {
                for (int f = 0; keep[t] && f < dSae; f++) {
                    float a = acts[t * dSae + f];
                    l0 += a > 0 ? 1 : 0;
                    l1 += a;
                    active[f] += a > 0 ? 1 : 0;
                }
            }
            close("l0 over kept tokens", some.sparsity().l0(), l0 / kept);
            close("l1 over kept tokens", some.sparsity().l1(), l1 / kept);
            for (int f = 0; f < dSae; f++) {
                close("feature_density[" + f + "]", some.features().featureDensity()[f], active[f] / kept);
            }
            assertThat(some.sparsity().l0()).isNotEqualTo(all.sparsity().l0());
            assertThat(some.tokenStats()).isEqualTo(all.tokenStats());

            // CE (a position counts if its own token is kept) and KL, by hand.
            ForwardOptions both = ForwardOptions.builder().returnType(ReturnType.BOTH).lossPerToken(true).build();
            ModelOutput clean = model.forward(tokens, both);
            ModelOutput ablated = model.runWithHooks(tokens, both, List.of(HookSpec.forward(sae.hookName(),
                    (a, p) -> a.zerosLike())));
            // SAELens's torch.where(mask, sae_out, x): excluded tokens keep their clean activation.
            ModelOutput spliced = model.runWithHooks(tokens, both, List.of(HookSpec.forward(sae.hookName(), (a, p) -> {
                NDArray out = sae.forward(a);
                for (int t = 0; t < ids.length; t++) {
                    if (!keep[t]) {
                        NDIndex at = new NDIndex("{}, {}", t / 16, t % 16);
                        out.set(at, a.get(at));
                    }
                }
                return out;
            })));
            close("ce_loss_without_sae", some.modelPerformancePreservation().ceLossWithoutSae(), keptMean(clean.loss(), keep));
            close("ce_loss_with_ablation", some.modelPerformancePreservation().ceLossWithAblation(),
                    keptMean(ablated.loss(), keep));
            close("ce_loss_with_sae", some.modelPerformancePreservation().ceLossWithSae(), keptMean(spliced.loss(), keep));
            NDArray logP = clean.logits().logSoftmax(-1);
            NDArray klAblation = logP.exp().mul(logP.sub(ablated.logits().logSoftmax(-1))).sum(new int[] {-1});
            close("kl_div_with_ablation", some.modelBehaviorPreservation().klDivWithAblation(), keptMean(klAblation, keep));
            assertThat(some.modelPerformancePreservation().ceLossWithSae())
                    .isNotEqualTo(all.modelPerformancePreservation().ceLossWithSae());
        }
    }

    @Test
    void aHookZSaeReplacesEveryTokenEvenExcludedOnesAsSaeLensAllHeadHookDoes() {
        String name = "gpt2/jumprelu_z_l0";
        HookedTransformer model = fixtures.model(name);
        NDArray tokens = fixtures.reference(name).get("input_ids");
        long[] ids = tokens.toLongArray();
        boolean[] keep = new boolean[ids.length];
        for (int t = 0; t < ids.length; t++) {
            keep[t] = ids[t] != ids[3];
        }
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            SaeEvaluation some = SaeEvaluation.evaluate(model, sae, tokens, SaeEvalOptions.of(2, 1).excluding(Set.of(ids[3])));
            ForwardOptions both = ForwardOptions.builder().returnType(ReturnType.BOTH).lossPerToken(true).build();
            ModelOutput spliced = model.runWithHooks(tokens, both, List.of(HookSpec.forward(sae.hookName(),
                    (a, p) -> sae.forward(a))));
            close("hook_z ce_loss_with_sae", some.modelPerformancePreservation().ceLossWithSae(),
                    keptMean(spliced.loss(), keep));
        }
        assertThatThrownBy(() -> SaeEvalOptions.of(0, 1)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("at least 1");
    }

    /** Mean of values [2, width] over positions whose token (same row and index, in [2, 16]) is kept. */
    private static double keptMean(NDArray values, boolean[] keep) {
        float[] v = values.toType(DataType.FLOAT32, false).toFloatArray();
        int width = (int) values.getShape().get(1);
        double sum = 0;
        int n = 0;
        for (int i = 0; i < v.length; i++) {
            if (keep[(i / width) * 16 + i % width]) {
                sum += v[i];
                n++;
            }
        }
        return sum / n;
    }
}
