package dev.loupe.analysis.attribution;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.Metric;
import dev.loupe.testing.Fixtures;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** Attribution patching agrees with actual patching to first order for a small difference. */
@Isolated("uses autograd")
class AttributionPatchingTest {

    @Test
    void attributionMatchesActualPatchingForASmallPerturbation() {
        Engine.getInstance().setRandomSeed(3);
        String site = "blocks.1.hook_resid_pre";
        Metric metric = logits -> logits.get("0, -1, 5").sub(logits.get("0, -1, 9"));
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), manager)
                    .get("input_ids").get("0:1, 0:8");
            // "Clean" differs from the corrupted run by a small δ at one site only.
            NDArray delta = manager.randomNormal(0f, 1e-3f, new ai.djl.ndarray.types.Shape(1, 8, 32), DataType.FLOAT32);
            HookSpec perturb = HookSpec.forward(site, (a, p) -> a.add(delta));
            NDArray cleanSite;
            try (var scope = model.hooks(perturb); ActivationCache clean = model.runWithCache(tokens, CacheOptions.matching(
                    java.util.regex.Pattern.quote(site)))) {
                cleanSite = clean.get(site).duplicate();
                cleanSite.attach(manager);
            }
            float base = metric.apply(model.forward(tokens)).getFloat();
            Map<String, NDArray> attributions;
            try (ActivationCache corrupted = model.runWithCache(tokens, CacheOptions.matching(java.util.regex.Pattern.quote(site))
                    .withGradients().withForward(ForwardOptions.builder().metric(metric).build()))) {
                NDArray attribution = cleanSite.sub(corrupted.get(site)).mul(corrupted.get(site + "_grad"));
                attributions = Map.of(site, attribution);
                for (int pos = 0; pos < 8; pos++) {
                    int p = pos;
                    NDArray patched = model.runWithHooks(tokens, HookSpec.forward(site, (a, point) -> {
                        a.set(new NDIndex(":, " + p), cleanSite.get(":, " + p));
                        return a;
                    }));
                    float actual = metric.apply(patched).getFloat() - base;
                    float estimate = attribution.get(":, " + p).sum().getFloat();
                    assertThat(estimate).as("position " + p)
                            .isCloseTo(actual, org.assertj.core.data.Offset.offset(2e-5f + 0.05f * Math.abs(actual)));
                }
            }
            assertThat(attributions.get(site).getShape().toString()).isEqualTo("(1, 8, 32)");
            // The one-call API: identical inputs leave nothing to attribute; different ones attribute to every site.
            Map<String, NDArray> same = AttributionPatching.attribute(model, tokens, tokens, metric,
                    name -> name.endsWith("hook_resid_pre"), manager);
            assertThat(same).containsOnlyKeys("blocks.0.hook_resid_pre", site);
            assertThat(same.get(site).abs().max().getFloat()).isZero();
            NDArray other = tokens.duplicate();
            other.set(new NDIndex("0, 3"), 7L);
            Map<String, NDArray> different = AttributionPatching.attribute(model, other, tokens, metric,
                    name -> name.endsWith("hook_resid_pre"), manager);
            assertThat(different.get("blocks.0.hook_resid_pre").get(":, 3").abs().sum().getFloat()).isPositive();
            assertThat(different.get("blocks.0.hook_resid_pre").get(":, 0:3").abs().sum().getFloat())
                    .as("positions before the change are the same in both runs").isZero();
        }
    }
}
