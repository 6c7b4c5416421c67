package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookSpec;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.testing.TinyGpt2;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** Gradients at hook points, checked against finite differences and closed forms. */
@Isolated("autograd runs are serialised: DJL allows one GradientCollector at a time")
class BackwardHooksTest {
    private static TinyGpt2 gpt2;
    private static HookedTransformer model;
    private static NDManager manager;
    private static NDArray tokens;

    @BeforeAll
    static void load() {
        gpt2 = TinyGpt2.open();
        model = gpt2.model();
        manager = gpt2.manager();
        tokens = gpt2.tokens();
    }

    @AfterAll
    static void close() {
        gpt2.close();
    }

    /**
     * DJL's {@code x.mul(0.5f)} borrows the scalar's memory from a Java direct buffer that only the
     * garbage collector frees, while autograd keeps the scalar for the backward pass: a collection
     * between the forward and the backward pass used to turn the gradients into garbage (NaN, 1e24).
     */
    @Test
    void gradientsSurviveAGarbageCollectionBetweenTheForwardAndTheBackwardPass() {
        Map<String, float[]> expected = gradientsOfEveryPoint(List.of());
        for (int attempt = 0; attempt < 5; attempt++) {
            HookSpec collect = HookSpec.forward("unembed.hook_out", (logits, point) -> {
                collectGarbageAndReuseTheMemory();
                return null;
            });
            Map<String, float[]> got = gradientsOfEveryPoint(List.of(collect));
            assertThat(got).containsOnlyKeys(expected.keySet());
            for (Map.Entry<String, float[]> entry : expected.entrySet()) {
                assertThat(got.get(entry.getKey())).as(entry.getKey()).containsExactly(entry.getValue());
            }
        }
    }

    private static Map<String, float[]> gradientsOfEveryPoint(List<HookSpec> hooks) {
        Map<String, float[]> gradients = new HashMap<>();
        try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.all().withGradients(), hooks)) {
            for (String name : cache.keys()) {
                if (name.endsWith("_grad")) {
                    gradients.put(name, cache.get(name).toFloatArray());
                }
            }
        }
        return gradients;
    }

    /** Runs the collector, lets the cleaners free what it found, and fills freed native memory with garbage. */
    private static void collectGarbageAndReuseTheMemory() {
        System.gc();
        try {
            Thread.sleep(50); // the cleaner thread frees the direct buffers
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<ByteBuffer> garbage = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
            buffer.putFloat(0, Float.NaN);
            garbage.add(buffer);
        }
        assertThat(garbage).hasSize(2000);
    }

    @Test
    void backwardHookGradientsMatchFiniteDifferences() {
        String[] names = {"hook_embed", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z",
                "blocks.1.hook_resid_mid", "blocks.1.mlp.hook_post", "ln_final.hook_scale"};
        Map<String, float[]> gradients = new HashMap<>();
        List<HookSpec> hooks = new ArrayList<>();
        for (String name : names) {
            hooks.add(HookSpec.backward(name, (grad, point) -> gradients.put(point.name(), grad.toFloatArray())));
        }
        model.runWithHooks(tokens, ForwardOptions.defaults(), hooks).close();
        assertThat(gradients).containsOnlyKeys(names);
        for (String name : names) {
            float[] gradient = gradients.get(name);
            int[] flatIndices = {0, gradient.length / 3, gradient.length - 7};
            for (int flat : flatIndices) {
                double numeric = finiteDifference(name, flat, 1e-2f);
                assertThat(gradient[flat]).as(name + "[" + flat + "]")
                        .isCloseTo((float) numeric,
                                org.assertj.core.data.Offset.offset((float) (2e-4 + 1e-2 * Math.abs(numeric))));
            }
        }
    }

    /** (loss(a + h·e_i) - loss(a - h·e_i)) / 2h, nudging one element of the activation {@code name}. */
    private static double finiteDifference(String name, int flatIndex, float h) {
        float plus = lossWithNudge(name, flatIndex, h);
        float minus = lossWithNudge(name, flatIndex, -h);
        return ((double) plus - minus) / (2.0 * h);
    }

    private static float lossWithNudge(String name, int flatIndex, float delta) {
        ModelOutput out = model.runWithHooks(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS).build(),
                List.of(HookSpec.forward(name, (a, p) -> {
                    float[] values = a.toFloatArray();
                    values[flatIndex] += delta;
                    return a.getManager().create(values, a.getShape());
                })));
        return out.loss().getFloat();
    }

    @Test
    void cachedGradientOfTheMeanLossWithRespectToLogitsIsSoftmaxMinusOneHot() {
        try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.matching("unembed\\.hook_out").withGradients())) {
            NDArray logits = cache.get("unembed.hook_out");
            NDArray grad = cache.get("unembed.hook_out_grad");
            long batch = logits.getShape().get(0);
            long pos = logits.getShape().get(1);
            NDArray expected = logits.softmax(-1);
            NDArray next = tokens.get(":, 1:").toType(DataType.INT64, false);
            long[] ids = next.toLongArray();
            for (int b = 0; b < batch; b++) {
                for (int p = 0; p < pos - 1; p++) {
                    long id = ids[(int) (b * (pos - 1) + p)];
                    expected.set(new NDIndex(b + ", " + p + ", " + id), expected.get(b, p, id).getFloat() - 1f);
                }
            }
            expected.set(new NDIndex(":, -1, :"), 0f);
            expected = expected.div(batch * (pos - 1));
            assertClose("d loss / d logits", grad, expected, 1e-7);
        }
    }

    @Test
    void aCustomMetricDecidesWhatIsDifferentiated() {
        ForwardOptions logitOfSeven = ForwardOptions.builder().metric(logits -> logits.get("0, -1, 7")).build();
        try (ActivationCache cache = model.runWithCache(tokens,
                CacheOptions.matching("unembed\\.hook_out|blocks\\.0\\.hook_resid_pre").withGradients()
                        .withForward(logitOfSeven))) {
            NDArray grad = cache.get("unembed.hook_out_grad");
            assertThat(grad.sum().getFloat()).isEqualTo(1f);
            assertThat(grad.get("0, -1, 7").getFloat()).isEqualTo(1f);
            assertThat(cache.keys()).containsExactly("blocks.0.hook_resid_pre", "unembed.hook_out",
                    "unembed.hook_out_grad", "blocks.0.hook_resid_pre_grad");
            // Causal attention: nothing after position 15 exists, earlier positions of batch 1 cannot matter.
            assertThat(cache.get("blocks.0.hook_resid_pre_grad").get("1").abs().max().getFloat()).isZero();
        }
    }

    @Test
    void backwardHooksReceiveAReadOnlyCopyAndAreRemovedAfterTheRun() {
        List<Float> seen = new ArrayList<>();
        model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(
                HookSpec.backward("blocks.1.hook_resid_post", (g, p) -> {
                    seen.add(g.abs().sum().getFloat());
                    g.muli(0);
                }),
                HookSpec.backward("blocks.1.hook_resid_post", (g, p) -> seen.add(g.abs().sum().getFloat()))));
        assertThat(seen).hasSize(2);
        assertThat(seen.get(1)).isEqualTo(seen.get(0)).isPositive();
        assertThat(model.hookPoint("blocks.1.hook_resid_post").hasBackwardHooks()).isFalse();
    }

    @Test
    void aRunThatStopsEarlyNeedsAMetric() {
        assertThatThrownBy(() -> model.runWithHooks(tokens, ForwardOptions.builder().stopAtLayer(1).build(),
                List.of(HookSpec.backward("hook_embed", (g, p) -> {}))))
                .hasMessageContaining("metric");
        ModelOutput out = model.runWithHooks(tokens,
                ForwardOptions.builder().stopAtLayer(1).metric(resid -> resid.sum()).build(),
                List.of(HookSpec.backward("hook_embed", (g, p) -> assertThat(g.sum().getFloat()).isNotZero())));
        assertThat(out.residual().getShape().toString()).isEqualTo("(2, 16, 32)");
    }
}
