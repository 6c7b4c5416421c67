package dev.loupe.analysis.experts;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.ActName;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reading and steering the routing of a mixture-of-experts model (Mixtral): which experts each token
 * went to in each layer, and runs where chosen tokens go to an expert of your choosing or may not use
 * one.
 *
 * <pre>{@code
 * try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Path.of("testdata/models/mixtral"));
 *      NDManager manager = NDManager.newBaseManager()) {
 *     NDArray tokens = manager.create(new long[][] {{1, 415, 293, 96, 285}});
 *
 *     // Which experts each token went to, one ExpertChoice per layer:
 *     List<ExpertChoice> routing = ExpertRouting.choices(model, tokens);
 *     long[] experts = routing.get(0).expertsOf(0, 3);   // layer 0, token 3: e.g. [2, 0], most probable first
 *     float[] weights = routing.get(0).weightsOf(0, 3);  // the weights of their outputs, e.g. [0.62, 0.38]
 *     NDArray indices = routing.get(1).indices();        // layer 1: int64 [1, 5, top_k]
 *
 *     // The same from a cache you already have:
 *     try (ActivationCache cache = model.runWithCache(tokens)) {
 *         ExpertChoice layer1 = ExpertRouting.choice(cache, 1);
 *     }
 *
 *     // Token 3 of prompt 0 goes to expert 1 alone in layer 0; no token may use expert 2 in layer 1:
 *     NDArray forced = model.runWithHooks(tokens, ExpertRouting.force(0, 1, 0, 3));
 *     NDArray ablated = model.runWithHooks(tokens, ExpertRouting.ablate(1, 2));
 * }
 * }</pre>
 *
 * <p>The interventions are ordinary hooks ({@link HookSpec}s) on the layer's
 * {@code mlp.hook_expert_weights}, the router's probabilities over all experts, before the top-k
 * choice; they combine with any other hooks, scopes ({@code model.hooks(...)}) and generation.
 * <ul>
 *   <li>{@link #force force}: the token's probabilities become 1 for the expert and 0 for the rest, so
 *       its MLP output is that expert's output alone (weight 1; the other top-k slots get weight 0).
 *   <li>{@link #ablate ablate}: the expert's probability becomes 0, so the token goes to its next most
 *       probable experts, renormalised: exactly the routing of the model without that expert.
 * </ul>
 * Positions count the tokens of the forward pass the hook sees (with a key/value cache, the new
 * tokens only). Tokens not named are routed as before.
 */
public final class ExpertRouting {
    private ExpertRouting() {}

    /**
     * Runs {@code tokens} [batch, pos] and returns every layer's routing, layer 0 first; the arrays
     * belong to the tokens' manager.
     *
     * @throws LoupeException if the model has no mixture of experts
     */
    public static List<ExpertChoice> choices(HookedTransformer model, NDArray tokens) {
        if (!model.config().mixtureOfExperts()) {
            throw new LoupeException("This model (" + model.config().modelName() + ") has dense MLPs, not a mixture of "
                    + "experts: there is no routing to read");
        }
        List<ExpertChoice> choices = new ArrayList<>();
        try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.matching(".*mlp\\.hook_expert_(weights|indices)"))) {
            NDManager owner = tokens.getManager();
            for (int l = 0; l < model.config().nLayers(); l++) {
                ExpertChoice choice = choice(cache, l);
                choices.add(new ExpertChoice(moved(choice.indices(), owner), moved(choice.weights(), owner),
                        moved(choice.probabilities(), owner)));
            }
        }
        return choices;
    }

    /**
     * The routing of {@code layer} (negative counts from the end) in a cache that holds its
     * {@code mlp.hook_expert_weights} and {@code mlp.hook_expert_indices} (any cache of the whole
     * model does); the arrays belong to the cache. The weights are the top-k probabilities,
     * renormalised, as the model weighted the experts' outputs.
     */
    public static ExpertChoice choice(ActivationCache cache, int layer) {
        int n = cache.model().config().nLayers();
        int l = layer < 0 ? n + layer : layer;
        NDArray probabilities = cache.get(ActName.block(l, "mlp.hook_expert_weights")); // [batch * pos, E]
        NDArray indices = cache.get(ActName.block(l, "mlp.hook_expert_indices")); // [batch * pos, k]
        Shape tokens = tokenShape(cache, l);
        long k = indices.getShape().get(1);
        NDArray top = probabilities.topK((int) k, -1, true, true).get(0);
        NDArray weights = top.div(top.sum(new int[] {-1}, true));
        return new ExpertChoice(indices.reshape(tokens.get(0), tokens.get(1), k),
                weights.reshape(tokens.get(0), tokens.get(1), k),
                probabilities.reshape(tokens.get(0), tokens.get(1), probabilities.getShape().get(1)));
    }

    /** In layer {@code layer}, every token goes to {@code expert} alone. */
    public static HookSpec force(int layer, int expert) {
        return HookSpec.forward(ActName.block(layer, "mlp.hook_expert_weights"), (p, point) -> force(p, expert, null));
    }

    /**
     * In layer {@code layer}, the tokens at {@code positions} of prompt {@code batchIndex} go to
     * {@code expert} alone (with weight 1); the other tokens are routed as before.
     */
    public static HookSpec force(int layer, int expert, int batchIndex, int... positions) {
        return atTokens(layer, batchIndex, positions, (p, rows) -> force(p, expert, rows));
    }

    /** In layer {@code layer}, no token may choose {@code expert}: each goes to its next most probable experts. */
    public static HookSpec ablate(int layer, int expert) {
        return HookSpec.forward(ActName.block(layer, "mlp.hook_expert_weights"), (p, point) -> ablate(p, expert, null));
    }

    /**
     * In layer {@code layer}, the tokens at {@code positions} of prompt {@code batchIndex} may not choose
     * {@code expert}; the other tokens are routed as before.
     */
    public static HookSpec ablate(int layer, int expert, int batchIndex, int... positions) {
        return atTokens(layer, batchIndex, positions, (p, rows) -> ablate(p, expert, rows));
    }

    /** An edit of the router's probabilities [n, E] on the given rows (null: every row). */
    @FunctionalInterface
    private interface Edit {
        NDArray apply(NDArray probabilities, long[] rows);
    }

    /**
     * A hook that edits rows {@code batchIndex * pos + position} of the layer's expert probabilities;
     * it learns {@code pos} from the block's {@code hook_resid_pre} [batch, pos, d_model], which fires
     * first, and fails at {@code hook_resid_post} if the layer had no router.
     */
    private static HookSpec atTokens(int layer, int batchIndex, int[] positions, Edit edit) {
        if (positions.length == 0) {
            throw new LoupeException("Name at least one position of prompt " + batchIndex
                    + " (or leave out the batch index to change every token)");
        }
        String residPre = ActName.block(layer, "hook_resid_pre");
        String router = ActName.block(layer, "mlp.hook_expert_weights");
        String residPost = ActName.block(layer, "hook_resid_post");
        long[] seen = {-1, -1, 0}; // batch, pos of this pass; whether the router fired
        return HookSpec.forward(name -> name.equals(residPre) || name.equals(router) || name.equals(residPost),
                (activation, point) -> {
                    if (point.name().equals(residPre)) {
                        seen[0] = activation.getShape().get(0);
                        seen[1] = activation.getShape().get(1);
                        seen[2] = 0;
                        return null;
                    }
                    if (point.name().equals(residPost)) {
                        if (seen[2] == 0) {
                            throw new LoupeException("Block " + layer + " has no mixture of experts, so its routing"
                                    + " cannot be changed");
                        }
                        return null;
                    }
                    seen[2] = 1;
                    return edit.apply(activation, rows(seen[0], seen[1], batchIndex, positions));
                });
    }

    private static long[] rows(long batch, long pos, int batchIndex, int[] positions) {
        if (batchIndex < 0 || batchIndex >= batch) {
            throw new LoupeException("Batch index " + batchIndex + " is outside this run's " + batch + " prompt(s)");
        }
        long[] rows = new long[positions.length];
        for (int i = 0; i < positions.length; i++) {
            if (positions[i] < 0 || positions[i] >= pos) {
                throw new LoupeException("Position " + positions[i] + " is outside this run's " + pos + " positions");
            }
            rows[i] = batchIndex * pos + positions[i];
        }
        return rows;
    }

    private static NDArray force(NDArray probabilities, int expert, long[] rows) {
        int n = (int) probabilities.getShape().get(0);
        int experts = expertCount(probabilities, expert);
        float[] keep = new float[n];
        float[] hot = new float[n * experts];
        Arrays.fill(keep, 1f);
        for (long row : rows == null ? allRows(n) : rows) {
            keep[(int) row] = 0f;
            hot[(int) row * experts + expert] = 1f;
        }
        NDManager manager = probabilities.getManager();
        return probabilities.mul(manager.create(keep, new Shape(n, 1))).add(manager.create(hot, new Shape(n, experts)));
    }

    private static NDArray ablate(NDArray probabilities, int expert, long[] rows) {
        int n = (int) probabilities.getShape().get(0);
        int experts = expertCount(probabilities, expert);
        float[] keep = new float[n * experts];
        Arrays.fill(keep, 1f);
        for (long row : rows == null ? allRows(n) : rows) {
            keep[(int) row * experts + expert] = 0f;
        }
        return probabilities.mul(probabilities.getManager().create(keep, new Shape(n, experts)));
    }

    private static int expertCount(NDArray probabilities, int expert) {
        int experts = (int) probabilities.getShape().get(1);
        if (expert < 0 || expert >= experts) {
            throw new LoupeException("Expert " + expert + " does not exist: the layer has experts 0 to " + (experts - 1));
        }
        return experts;
    }

    private static long[] allRows(int n) {
        long[] rows = new long[n];
        for (int i = 0; i < n; i++) {
            rows[i] = i;
        }
        return rows;
    }

    /** [batch, pos] of the run: from the layer's {@code hook_resid_pre} if cached, else from the logits. */
    private static Shape tokenShape(ActivationCache cache, int layer) {
        String residPre = ActName.block(layer, "hook_resid_pre");
        NDArray reference = cache.containsKey(residPre) ? cache.get(residPre) : cache.logits();
        if (reference == null) {
            throw new LoupeException("The cache holds neither " + residPre + " nor logits, so the routing cannot be laid"
                    + " out as [batch, pos]; cache " + residPre + " too");
        }
        return new Shape(reference.getShape().get(0), reference.getShape().get(1));
    }

    /** A copy of {@code array} owned by {@code owner}. */
    private static NDArray moved(NDArray array, NDManager owner) {
        NDArray copy = array.duplicate();
        copy.attach(owner);
        return copy;
    }
}
