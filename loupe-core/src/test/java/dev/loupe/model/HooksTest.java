package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookPoint;
import dev.loupe.hook.HookSpec;
import dev.loupe.hook.UnknownHookException;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.testing.TinyGpt2;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Forward hooks: editing activations, scoping, errors, and the optional hook points. */
class HooksTest {
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

    private static boolean anyHookAttached() {
        return model.hookRegistry().points().values().stream().anyMatch(p -> p.hasHooks() || p.hasBackwardHooks());
    }

    @Test
    void zeroAblatingAHeadChangesTheLoss() {
        float clean = model.loss(tokens).getFloat();
        ModelOutput ablated = model.runWithHooks(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS).build(),
                List.of(HookSpec.forward("blocks.0.attn.hook_z", (z, point) -> {
                    z.set(new NDIndex(":, :, 1, :"), 0f);
                    return z;
                })));
        assertThat(ablated.loss().getFloat()).isNotCloseTo(clean, org.assertj.core.data.Offset.offset(1e-4f));
        assertThat(model.loss(tokens).getFloat()).as("the hook is gone after the run").isEqualTo(clean);
        assertThat(anyHookAttached()).isFalse();
    }

    @Test
    void aReplacementHookChangesWhatFollows() {
        NDArray logits = model.runWithHooks(tokens, HookSpec.forward("blocks.1.hook_resid_post", (r, p) -> r.zerosLike()));
        // ln_final of a zero residual is its bias, so every position predicts the same logits.
        assertClose("row 0 vs row 5", logits.get("0, 0"), logits.get("1, 5"), 1e-5);
    }

    @Test
    void aThrowingHookLeavesNoHookAttached() {
        assertThatThrownBy(() -> model.runWithHooks(tokens,
                HookSpec.forward("blocks.0.hook_resid_pre", (r, p) -> null),
                HookSpec.forward("blocks.1.attn.hook_pattern", (r, p) -> {
                    throw new IllegalStateException("boom");
                }))).hasMessage("boom");
        assertThat(anyHookAttached()).isFalse();
        assertThat(model.hookRegistry().level()).isZero();
    }

    @Test
    void scopesNestAndRemoveOnlyTheirOwnHooks() {
        List<String> fired = new ArrayList<>();
        try (HookScope outer = model.hooks(HookSpec.forward("hook_embed", (a, p) -> {
            fired.add("outer");
            return null;
        }))) {
            try (HookScope inner = model.hooks(HookSpec.forward("hook_embed", (a, p) -> {
                fired.add("inner");
                return null;
            }))) {
                model.forward(tokens);
                assertThat(fired).containsExactly("outer", "inner");
            }
            fired.clear();
            model.forward(tokens);
            assertThat(fired).containsExactly("outer");
            model.forward(tokens);
            assertThat(fired).containsExactly("outer", "outer");
        }
        fired.clear();
        model.forward(tokens);
        assertThat(fired).isEmpty();
    }

    @Test
    void permanentHooksSurviveResetUnlessAsked() {
        List<String> fired = new ArrayList<>();
        model.addPermanentHook(HookSpec.forward("hook_pos_embed", (a, p) -> {
            fired.add(p.name());
            return null;
        }));
        model.addHook(HookSpec.forward("hook_embed", (a, p) -> {
            fired.add(p.name());
            return null;
        }));
        model.resetHooks();
        model.forward(tokens);
        assertThat(fired).containsExactly("hook_pos_embed");
        model.resetHooks(true);
        fired.clear();
        model.forward(tokens);
        assertThat(fired).isEmpty();
    }

    @Test
    void predicateHooksFireOnEveryMatchingPointInOrder() {
        List<String> fired = new ArrayList<>();
        model.runWithHooks(tokens, HookSpec.forward(name -> name.endsWith("hook_resid_pre"), (a, p) -> {
            fired.add(p.name() + "@" + p.layer());
            return null;
        }));
        assertThat(fired).containsExactly("blocks.0.hook_resid_pre@0", "blocks.1.hook_resid_pre@1");
    }

    @Test
    void anUnknownHookNameListsTheClosestValidNames() {
        assertThatThrownBy(() -> model.runWithHooks(tokens, HookSpec.forward("blocks.0.attn.hook_zz", (a, p) -> a)))
                .isInstanceOf(UnknownHookException.class)
                .hasMessageContaining("blocks.0.attn.hook_zz")
                .hasMessageContaining("blocks.0.attn.hook_z");
        assertThat(anyHookAttached()).isFalse();
    }

    @Test
    void aHookReturningTheWrongShapeNamesBothShapes() {
        assertThatThrownBy(() -> model.runWithHooks(tokens,
                HookSpec.forward("blocks.0.attn.hook_z", (z, p) -> z.get(":, :, 0, :"))))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("blocks.0.attn.hook_z")
                .hasMessageContaining("(2, 16, 8)")
                .hasMessageContaining("(2, 16, 4, 8)");
        assertThat(anyHookAttached()).isFalse();
    }

    @Test
    void aHookReturningAnotherDtypeNamesTheHookAndBothDtypes() {
        assertThatThrownBy(() -> model.runWithHooks(tokens,
                HookSpec.forward("blocks.0.attn.hook_z", (z, p) -> z.toType(DataType.FLOAT64, false))))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("Hook on blocks.0.attn.hook_z")
                .hasMessageContaining("dtype float64")
                .hasMessageContaining("dtype float32");
        assertThatThrownBy(() -> model.runWithHooks(tokens,
                HookSpec.forward("hook_tokens", (t, p) -> t.toType(DataType.INT32, false))))
                .as("a flag-gated point names the flag first")
                .hasMessageContaining("setUseHookTokens(true)");
        model.setUseHookTokens(true);
        try {
            assertThatThrownBy(() -> model.runWithHooks(tokens,
                    HookSpec.forward("hook_tokens", (t, p) -> t.toType(DataType.INT32, false))))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("Hook on hook_tokens")
                    .hasMessageContaining("dtype int32")
                    .hasMessageContaining("dtype int64");
        } finally {
            model.setUseHookTokens(false);
        }
        assertThat(anyHookAttached()).isFalse();
    }

    @Test
    void anOptionalHookNamesTheFlagThatTurnsItOn() {
        assertThatThrownBy(() -> model.runWithHooks(tokens, HookSpec.forward("blocks.0.attn.hook_result", (a, p) -> a)))
                .hasMessageContaining("useAttnResult")
                .hasMessageContaining("setUseAttnResult(true)");
    }

    @Test
    void flagsAddHooksButNeverChangeTheLogits() {
        NDArray plain = model.forward(tokens);
        model.setUseAttnResult(true);
        model.setUseSplitQkvInput(true);
        model.setUseAttnIn(true);
        model.setUseHookMlpIn(true);
        model.setUseHookTokens(true);
        try (ActivationCache cache = model.runWithCache(tokens)) {
            assertClose("logits with every flag", cache.logits(), plain, 1e-5);
            assertThat(cache.keys()).contains("hook_tokens", "blocks.0.attn.hook_result", "blocks.0.hook_q_input",
                    "blocks.0.hook_k_input", "blocks.0.hook_v_input", "blocks.0.hook_attn_in", "blocks.0.hook_mlp_in");
            assertThat(cache.get("blocks.0.attn.hook_result").getShape().toString()).isEqualTo("(2, 16, 4, 32)");
            assertThat(cache.get("blocks.0.ln1.hook_scale").getShape().toString()).isEqualTo("(2, 16, 4, 1)");
            NDArray summed = cache.get("blocks.1.attn.hook_result").sum(new int[] {2})
                    .add(model.stateDict().get("blocks.1.attn.b_O"));
            assertClose("sum of head results + b_O", summed, cache.get("blocks.1.hook_attn_out"), 1e-5);
            assertThat(cache.keys()).containsExactlyInAnyOrderElementsOf(model.hookShapes(2, 16).keySet());
            model.hookShapes(2, 16).forEach((name, shape) ->
                    assertThat(cache.get(name).getShape()).as(name).isEqualTo(shape));
        } finally {
            model.setUseAttnResult(false);
            model.setUseSplitQkvInput(false);
            model.setUseAttnIn(false);
            model.setUseHookMlpIn(false);
            model.setUseHookTokens(false);
        }
    }

    @Test
    void editingSplitQueryInputChangesOnlyQueries() {
        model.setUseSplitQkvInput(true);
        try {
            NDArray clean;
            NDArray patched;
            try (ActivationCache c = model.runWithCache(tokens, CacheOptions.matching("blocks\\.0\\.attn\\.hook_[qk]"))) {
                clean = c.get("blocks.0.attn.hook_k").duplicate();
                clean.attach(manager);
            }
            try (ActivationCache c = model.runWithCache(tokens, CacheOptions.matching("blocks\\.0\\.attn\\.hook_[qk]"),
                    List.of(HookSpec.forward("blocks.0.hook_q_input", (q, p) -> q.mul(2))))) {
                assertClose("keys untouched", c.get("blocks.0.attn.hook_k"), clean, 0);
                patched = c.logits();
                assertThat(patched).isNotNull();
            }
        } finally {
            model.setUseSplitQkvInput(false);
        }
    }

    @Test
    void cacheNamesFilterAndShorthand() {
        try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.matching(".*hook_pattern"))) {
            assertThat(cache.keys()).containsExactly("blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern");
            assertThat(cache.get("pattern", 1)).isSameAs(cache.get("blocks.1.attn.hook_pattern"));
            assertThat(cache.get("attn", -1)).isSameAs(cache.get("blocks.1.attn.hook_pattern"));
            assertThatThrownBy(() -> cache.get("z", 0)).hasMessageContaining("blocks.0.attn.hook_z");
        }
        try (ActivationCache none = model.runWithCache(tokens, CacheOptions.matching("^$"))) {
            assertThat(none.size()).isZero();
            assertThat(none.logits().getShape().toString()).isEqualTo("(2, 16, 512)");
        }
    }

    @Test
    void aCachedActivationSurvivesFurtherRuns() {
        try (ActivationCache first = model.runWithCache(tokens, CacheOptions.matching("blocks\\.1\\.hook_resid_post"))) {
            NDArray copy = first.get("resid_post", 1).duplicate();
            model.forward(tokens).close();
            try (ActivationCache second = model.runWithCache(tokens)) {
                assertThat(second.size()).isEqualTo(40);
            }
            assertClose("cached value unchanged", first.get("resid_post", 1), copy, 0);
        }
    }

    @Test
    void patchingFromAnotherCacheLeavesThatCacheIntact() {
        try (ActivationCache clean = model.runWithCache(tokens, CacheOptions.matching("blocks\\.0\\.hook_resid_post"))) {
            NDArray source = clean.get("resid_post", 0);
            try (ActivationCache patched = model.runWithCache(tokens, CacheOptions.all(),
                    List.of(HookSpec.forward("blocks.0.hook_resid_post", (r, p) -> source)))) {
                assertThat(patched.get("blocks.0.hook_resid_post")).isNotSameAs(source);
            }
            assertThat(source.getManager()).isSameAs(clean.manager());
            assertThat(source.sum().getFloat()).isFinite();
        }
    }

    @Test
    void hookPointsKnowTheirLayer() {
        HookPoint point = model.hookPoint("blocks.1.mlp.hook_post");
        assertThat(point.layer()).isEqualTo(1);
        assertThat(model.hookPoint("hook_embed").layer()).isEqualTo(-1);
    }
}
