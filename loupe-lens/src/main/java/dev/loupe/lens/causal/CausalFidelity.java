package dev.loupe.lens.causal;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.hook.HookSpec;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensStats;
import dev.loupe.model.HookedTransformer;
import java.util.Random;

/**
 * The tuned-lens paper's causal-fidelity experiment: run a model with a subspace of its residual
 * stream removed and compare its output with the clean run. Bases that a lens depends on
 * ({@link CausalBasis}) should move the model's output far more than random subspaces of the same size.
 */
public final class CausalFidelity {
    private CausalFidelity() {}

    /**
     * Runs {@code model} on int64 tokens [batch, pos] with and without {@code ablation}.
     *
     * @return KL and argmax per position, in {@code tokens}'s manager
     */
    public static AblationEffect measure(HookedTransformer model, NDArray tokens, HookSpec ablation) {
        NDArray clean = model.forward(tokens); // [batch, pos, d_vocab]
        NDArray ablated = model.runWithHooks(tokens, ablation);
        return new AblationEffect(LensStats.klDivergence(clean, ablated), ablated.argMax(-1), clean.argMax(-1));
    }

    /**
     * Removes the span of {@code basis} [d_model, k] from the residual that {@code lens} reads at
     * {@code layer} ({@code blocks.<layer>.hook_resid_pre} for the library's lenses; layer 0 is the
     * embeddings, which the library's block-output hook cannot reach) and measures the effect.
     */
    public static AblationEffect measure(HookedTransformer model, Lens lens, int layer, NDArray tokens, NDArray basis,
            AblationMode mode) {
        String hookName = lens.hook().hookName(lens.layerIndex(layer));
        return measure(model, tokens, SubspaceAblation.ablateSubspace(basis, hookName, mode));
    }

    /**
     * A random k-dimensional subspace of the d-dimensional residual, the experiment's control: k
     * standard normal columns from {@code new Random(seed)}, orthonormalised. [d, k] in {@code manager}.
     */
    public static NDArray randomSubspace(int d, int k, long seed, NDManager manager) {
        if (k < 1 || k > d) {
            throw new LoupeException("A random subspace needs 1 <= k <= d, got k = " + k + ", d = " + d);
        }
        Random random = new Random(seed);
        double[] columns = new double[d * k]; // row-major [d, k]
        for (int i = 0; i < columns.length; i++) {
            columns[i] = random.nextGaussian();
        }
        return manager.create(SubspaceAblation.orthonormal(columns, d, k), new Shape(d, k));
    }
}
