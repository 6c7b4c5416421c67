package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import dev.loupe.numeric.FilledArrays;
import java.util.ArrayList;
import java.util.List;

/**
 * Mixtral's sparse mixture of experts in place of the MLP. A router {@code W_gate.weight}
 * [n_experts, d_model] scores every expert for each token; the softmax over all experts gives their
 * probabilities, the {@code experts_per_token} (k) most probable are chosen, and their probabilities,
 * renormalised to sum to 1, weight the chosen experts' outputs:
 * {@code mlp(x) = Σ_{e in top-k(x)} w_e(x) · expert_e(x)}. Each expert is an {@link Expert}.
 *
 * <p>Hooks, in firing order, over the flattened tokens (row {@code b * pos + p}):
 * {@code hook_expert_weights} [batch·pos, n_experts] (the softmax over all experts, before the top-k;
 * editing it changes the choice, see {@code dev.loupe.analysis.experts.ExpertRouting}),
 * {@code hook_expert_indices} [batch·pos, k] (int64, the chosen experts, most probable first; editing
 * it re-routes a token but keeps the weight of each slot), then each expert's {@code hook_gate},
 * {@code hook_pre} and {@code hook_post}. An expert's rows are the tokens that chose it as their most
 * probable expert, in token order, then those that chose it second, and so on (TransformerLens's and
 * Hugging Face's order).
 *
 * <p>Routing always renormalises the top-k probabilities, as Hugging Face's Mixtral (and
 * TransformerLens 2.x) does; TransformerLens HEAD only does so when {@code norm_topk_prob} is set,
 * which its Mixtral configs leave off.
 */
public final class MixtureOfExperts implements FeedForward {
    private final int topK;
    private final Weight router;
    private final List<Expert> experts = new ArrayList<>();
    private final GroupedExperts grouped;
    private final HookPoint hookExpertWeights;
    private final HookPoint hookExpertIndices;

    /** @param name the module's TransformerLens name, e.g. {@code blocks.0.mlp} */
    public MixtureOfExperts(String name, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        topK = cfg.expertsPerToken();
        // Registration order is TransformerLens's: the experts, the router, then the routing hooks.
        for (int e = 0; e < cfg.numExperts(); e++) {
            experts.add(new Expert(name + ".experts." + e, cfg, params, hooks));
        }
        grouped = new GroupedExperts(experts, cfg.dModel(), cfg.dMlp());
        router = params.weight(name + ".W_gate.weight", cfg.numExperts(), cfg.dModel());
        hookExpertWeights = hooks.add(name + ".hook_expert_weights",
                (c, batch, pos) -> new Shape(batch * pos, c.numExperts()));
        hookExpertIndices = hooks.add(name + ".hook_expert_indices",
                (c, batch, pos) -> new Shape(batch * pos, c.expertsPerToken()));
    }

    @Override
    public NDArray forward(NDArray x) {
        Shape shape = x.getShape();
        NDArray tokens = x.reshape(-1, shape.get(2)); // [n, d_model]
        NDArray probabilities = hookExpertWeights.fire(tokens.matMul(router.value().transpose()).softmax(-1)); // [n, E]
        NDList top = probabilities.topK(topK, -1, true, true);
        NDArray weights = top.get(0).div(top.get(0).sum(new int[] {-1}, true)); // [n, k]
        NDArray indices = hookExpertIndices.fire(top.get(1)); // [n, k]
        Routing routing = route(indices.toType(DataType.INT64, false).toLongArray(), (int) tokens.getShape().get(0));
        NDManager manager = x.getManager();
        // One gather puts every (token, slot) pair's input in the experts' order; the experts run on their rows (two
        // grouped products for all of them, else each on its slice, a view) and the weighted outputs go back to
        // (token, slot) order with one more gather, then a sum over slots.
        NDArray inputs = tokens.get(new NDIndex("{}", FilledArrays.of(manager, routing.tokenOfRow))); // [n * k, d_model]
        NDArray weightOfRow = weights.reshape(-1).get(new NDIndex("{}", FilledArrays.of(manager, routing.pairOfRow)));
        NDArray outputs = grouped.forward(inputs, routing.firstRow);
        NDArray routed; // [n * k, d_model]
        if (outputs != null) {
            routed = outputs.muli(weightOfRow.expandDims(-1)); // out of autograd: in place
        } else {
            NDList each = new NDList();
            for (int e = 0; e < experts.size(); e++) {
                NDIndex rows = new NDIndex().addSliceDim(routing.firstRow[e], routing.firstRow[e + 1]);
                each.add(experts.get(e).forward(inputs.get(rows)));
            }
            routed = NDArrays.concat(each, 0).mul(weightOfRow.expandDims(-1));
        }
        NDArray byPair = routed.get(new NDIndex("{}", FilledArrays.of(manager, routing.rowOfPair)));
        return byPair.reshape(-1, topK, shape.get(2)).sum(new int[] {1}).reshape(shape);
    }

    /**
     * Where each (token, slot) pair goes. Rows are the experts' inputs one expert after the other; within an expert,
     * slot-major, then token order. {@code tokenOfRow} and {@code pairOfRow} ({@code t * k + slot}) say what each row
     * holds, {@code firstRow[e]} where expert {@code e}'s rows start ({@code firstRow[E]} = n · k), and
     * {@code rowOfPair} the inverse: the row of each pair.
     */
    private record Routing(long[] tokenOfRow, long[] pairOfRow, long[] firstRow, long[] rowOfPair) {}

    private Routing route(long[] indices, int n) {
        int nExperts = experts.size();
        long[] firstRow = new long[nExperts + 1];
        for (long expert : indices) {
            if (expert < 0 || expert >= nExperts) {
                throw new LoupeException("hook_expert_indices holds expert " + expert + ", but the model has experts 0 to "
                        + (nExperts - 1));
            }
            firstRow[(int) expert + 1]++;
        }
        for (int e = 0; e < nExperts; e++) {
            firstRow[e + 1] += firstRow[e];
        }
        long[] tokenOfRow = new long[indices.length];
        long[] pairOfRow = new long[indices.length];
        long[] rowOfPair = new long[indices.length];
        int row = 0;
        for (int e = 0; e < nExperts; e++) {
            for (int slot = 0; slot < topK; slot++) {
                for (int token = 0; token < n; token++) {
                    int pair = token * topK + slot;
                    if (indices[pair] == e) {
                        tokenOfRow[row] = token;
                        pairOfRow[row] = pair;
                        rowOfPair[pair] = row;
                        row++;
                    }
                }
            }
        }
        return new Routing(tokenOfRow, pairOfRow, firstRow, rowOfPair);
    }

    /** The router: the experts' matrices are widened one product at a time, and only for experts given tokens. */
    @Override
    public List<Weight> weights() {
        return List.of(router);
    }
}
