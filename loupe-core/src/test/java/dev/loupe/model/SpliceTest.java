package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookSpec;
import dev.loupe.hook.Splice;
import dev.loupe.numeric.Scalars;
import dev.loupe.run.ForwardOptions;
import dev.loupe.testing.TinyGpt2;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Modules spliced in place of hook points, with hook points of their own. */
class SpliceTest {
    private static final String RESID = "blocks.0.hook_resid_pre";
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

    @AfterEach
    void noHooksLeft() {
        model.resetHooks(true);
    }

    /** Doubles its input, firing hook_in on the input and hook_out on the result. */
    private record Doubler(String target) implements Splice {
        @Override
        public List<String> hookNames() {
            return List.of("hook_in", "hook_out");
        }

        @Override
        public NDArray forward(NDArray activation, Context context) {
            NDArray in = context.fire("hook_in", activation);
            return context.fire("hook_out", Scalars.mul(in, 2f));
        }
    }

    /** Replaces its target by the activation it read at {@code source}. */
    private record Copier(String target, String source) implements Splice {
        @Override
        public List<String> hookNames() {
            return List.of("hook_copy");
        }

        @Override
        public List<String> reads() {
            return List.of(source);
        }

        @Override
        public NDArray forward(NDArray activation, Context context) {
            return context.fire("hook_copy", context.read(source).duplicate());
        }
    }

    /** A copy of a run's array that outlives the run. */
    private static NDArray keep(NDArray array) {
        NDArray copy = array.duplicate();
        copy.attach(manager);
        return copy;
    }

    private static NDArray doubledByHook() {
        return model.runWithHooks(tokens, HookSpec.forward(RESID, (x, p) -> Scalars.mul(x, 2f)));
    }

    @Test
    void aSpliceReplacesTheActivationAndItsPointsTakeThePlaceOfTheTarget() {
        List<Splice> splices = List.of(new Doubler(RESID));
        NDArray spliced = model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(), splices).logits();
        assertClose("spliced vs a doubling hook", spliced, doubledByHook(), 0);
        try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.all(), List.of(), splices)) {
            List<String> names = cache.keys();
            assertThat(names).doesNotContain(RESID);
            int at = names.indexOf(RESID + ".hook_in");
            assertThat(names.subList(at, at + 2)).containsExactly(RESID + ".hook_in", RESID + ".hook_out");
            assertThat(names.get(at - 1)).isEqualTo("hook_pos_embed");
            assertClose("hook_out", cache.get(RESID + ".hook_out"), Scalars.mul(cache.get(RESID + ".hook_in"), 2f), 0);
            assertClose("logits (a cached LayerNorm takes its slower path)", cache.logits(), spliced, 1e-4);
        }
        assertClose("the splice is gone after the run", model.forward(tokens), gpt2.reference().get("logits"), 1e-4);
    }

    @Test
    void hooksOnASplicesPointsChangeItsOutput() {
        NDArray zeroed = model.runWithHooks(tokens, ForwardOptions.defaults(),
                List.of(HookSpec.forward(RESID + ".hook_in", (x, p) -> x.zerosLike())), List.of(new Doubler(RESID))).logits();
        assertClose("zeroed input", zeroed, model.runWithHooks(tokens, HookSpec.forward(RESID, (x, p) -> x.zerosLike())), 0);
    }

    @Test
    void aScopeKeepsSplicesAcrossRunsAndHooksInsideItMayNameTheirPoints() {
        NDArray clean = model.forward(tokens);
        NDArray doubled = doubledByHook();
        try (HookScope scope = model.splices(List.of(new Doubler(RESID)))) {
            assertClose("first run", model.forward(tokens), doubled, 0);
            try (HookScope hooks = model.hooks(HookSpec.forward(RESID + ".hook_out", (x, p) -> Scalars.mul(x, 0.5f)))) {
                assertClose("halved back", model.forward(tokens), clean, 1e-5);
            }
            assertClose("second run", model.forward(tokens), doubled, 0);
            assertThatThrownBy(() -> model.runWithHooks(tokens, HookSpec.forward(RESID, (x, p) -> x)))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("replaced by a splice")
                    .hasMessageContaining(RESID + ".hook_in");
        }
        assertClose("closed", model.forward(tokens), clean, 0);
    }

    @Test
    void aSpliceReadsAnEarlierActivationOfTheSameRun() {
        String normalized = "blocks.0.ln2.hook_normalized";
        String mlpOut = "blocks.0.hook_mlp_out";
        NDArray copied = model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(),
                List.of(new Copier(mlpOut, normalized))).logits();
        NDArray[] seen = new NDArray[1];
        NDArray byHooks = model.runWithHooks(tokens,
                HookSpec.forward(normalized, (x, p) -> {
                    seen[0] = x.duplicate();
                    return null;
                }),
                HookSpec.forward(mlpOut, (x, p) -> seen[0]));
        assertClose("copied", copied, byHooks, 0);
        assertThatThrownBy(() -> model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(),
                List.of(new Copier("blocks.0.hook_resid_pre", "blocks.1.hook_resid_pre"))))
                .isInstanceOf(LoupeException.class).hasMessageContaining("had not fired before it");
    }

    @Test
    void backwardHooksAndCachedGradientsReachASplicesPoints() {
        List<NDArray> viaHook = new ArrayList<>();
        model.runWithHooks(tokens, ForwardOptions.defaults(),
                List.of(HookSpec.backward(RESID + ".hook_out", (g, p) -> viaHook.add(keep(g)))), List.of(new Doubler(RESID)));
        List<NDArray> plain = new ArrayList<>();
        model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(HookSpec.forward(RESID, (x, p) -> Scalars.mul(x, 2f)),
                HookSpec.backward(RESID, (g, p) -> plain.add(keep(g)))));
        assertThat(viaHook).hasSize(1);
        assertClose("d loss / d hook_out", viaHook.get(0), plain.get(0), 1e-6);
        try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.matching(".*hook_in").withGradients(), List.of(),
                List.of(new Doubler(RESID)))) {
            // hook_out = 2·hook_in, so the gradient at hook_in is twice the one at hook_out.
            assertClose("d loss / d hook_in", cache.get(RESID + ".hook_in_grad"), Scalars.mul(plain.get(0), 2f), 1e-6);
        }
    }

    @Test
    void badSplicesAreRefusedWithTheReason() {
        assertThatThrownBy(() -> model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(),
                List.of(new Doubler(RESID), new Doubler(RESID))))
                .isInstanceOf(LoupeException.class).hasMessageContaining("Two splices at " + RESID);
        assertThatThrownBy(() -> model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(),
                List.of(new Doubler("blocks.0.hook_resid_pree"))))
                .isInstanceOf(LoupeException.class).hasMessageContaining("blocks.0.hook_resid_pre");
        model.addHook(HookSpec.forward(RESID, (x, p) -> x));
        assertThatThrownBy(() -> model.splices(List.of(new Doubler(RESID))))
                .isInstanceOf(LoupeException.class).hasMessageContaining("model-level hook");
        model.resetHooks();
        assertThatThrownBy(() -> model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(),
                List.of(new Doubler("blocks.0.hook_mlp_in"))))
                .isInstanceOf(LoupeException.class).hasMessageContaining("setUseHookMlpIn");
    }

    @Test
    void threadsWithAndWithoutASpliceGetWhatEachGetsAlone() throws Exception {
        NDArray clean = model.forward(tokens);
        NDArray doubled = doubledByHook();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Double>> diffs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                boolean splice = i % 2 == 0;
                diffs.add(pool.submit(() -> {
                    try (NDManager own = manager.newSubManager()) {
                        NDArray mine = tokens.duplicate();
                        mine.attach(own);
                        NDArray logits = splice
                                ? model.runWithHooks(mine, ForwardOptions.defaults(), List.of(), List.of(new Doubler(RESID)))
                                        .logits()
                                : model.forward(mine);
                        return maxAbsDiff(logits, splice ? doubled : clean);
                    }
                }));
            }
            for (Future<Double> diff : diffs) {
                assertThat(diff.get()).isZero();
            }
        } finally {
            pool.shutdown();
        }
    }
}
