package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import dev.loupe.hook.HookSpec;
import dev.loupe.run.ForwardOptions;
import dev.loupe.testing.TinyGpt2;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A block that no hook sees frees its intermediate activations when it ends, not when the pass ends
 * (issue 18: at Gemma-2-9B they took 4 GB a pass), while a hook still gets every activation it is given
 * for as long as the pass runs, and the numbers stay bit for bit the same.
 */
class BlockMemoryTest {
    private static TinyGpt2 gpt2;
    private static HookedTransformer model;
    private static NDArray tokens;

    @BeforeAll
    static void load() {
        gpt2 = TinyGpt2.open();
        model = gpt2.model();
        tokens = gpt2.tokens(); // [2, 16]
    }

    @AfterAll
    static void close() {
        gpt2.close();
    }

    @Test
    void anUnhookedBlockLeavesItsIntermediatesOutOfThePass() {
        int unhooked = arraysMadeByTheBlocks();
        // The same run with a hook in block 1, which then keeps everything it computes in the pass's manager.
        int block1Hooked = arraysMadeByTheBlocks(HookSpec.forward("blocks.1.hook_resid_pre", (x, point) -> null));
        System.out.printf("BlockMemoryTest: arrays left in the pass by 2 blocks: %d, %d with block 1 hooked%n",
                unhooked, block1Hooked);
        // Block 1 computes some 20 arrays (norms, q/k/v, scores, pattern, MLP); unhooked, only its output stays.
        assertThat(block1Hooked - unhooked).as("arrays block 1 leaves in the pass only when hooked").isGreaterThan(15);
    }

    @Test
    void aHookMayUseInALaterLayerWhatAnEarlierHookKept() {
        // Kept at block 0, added after the final norm: block 1 in between has no hook and runs in its own manager.
        NDArray steered = steered();
        // The same with a hook in block 1 too, which keeps all of that block in the pass's manager.
        NDArray expected = steered(HookSpec.forward("blocks.1.hook_resid_post", (x, point) -> null));
        assertThat(steered.toFloatArray()).containsExactly(expected.toFloatArray());
        assertThat(steered.toFloatArray()).isNotEqualTo(model.forward(tokens).toFloatArray());
    }

    private static NDArray steered(HookSpec... extra) {
        List<NDArray> kept = new ArrayList<>();
        List<HookSpec> hooks = new ArrayList<>(List.of(extra));
        hooks.add(HookSpec.forward("blocks.0.hook_attn_out", (x, point) -> {
            kept.add(x);
            return null;
        }));
        hooks.add(HookSpec.forward("ln_final.hook_normalized", (x, point) -> x.add(kept.get(0))));
        return model.runWithHooks(tokens, ForwardOptions.defaults(), hooks).logits();
    }

    @Test
    void logitsAreTheSameWithOrWithoutHooksInTheBlocks() {
        NDArray plain = model.forward(tokens);
        // A hook at hook_resid_pre changes nothing the block computes, only the manager it computes in.
        NDArray hooked = model.runWithHooks(tokens,
                HookSpec.forward(name -> name.endsWith("hook_resid_pre"), (x, point) -> null));
        assertThat(plain.toFloatArray()).containsExactly(hooked.toFloatArray());
    }

    /**
     * How many arrays the pass's manager gained between {@code hook_embed} and the final norm's scale, which
     * fire outside the blocks, in a run with {@code extra} hooks.
     */
    private static int arraysMadeByTheBlocks(HookSpec... extra) {
        int[] counts = new int[2];
        List<HookSpec> hooks = new ArrayList<>(List.of(extra));
        hooks.add(HookSpec.forward("hook_embed", (x, point) -> {
            counts[0] = x.getManager().getManagedArrays().size();
            return null;
        }));
        hooks.add(HookSpec.forward("ln_final.hook_scale", (x, point) -> {
            counts[1] = x.getManager().getManagedArrays().size();
            return null;
        }));
        model.runWithHooks(tokens, ForwardOptions.defaults(), hooks).logits().close();
        return counts[1] - counts[0];
    }
}
