package dev.loupe.server.explore;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.cache.LabelledStack;
import dev.loupe.cache.PosSlice;
import dev.loupe.cache.StackOptions;
import dev.loupe.hook.HookSpec;
import java.util.List;

/**
 * Direct logit attribution, {@code POST /api/v1/attribution}: how much each head
 * ({@code stack_head_results}) and each layer's attention and MLP output ({@code decompose_resid})
 * push the answer's logit (minus the wrong answer's) at one position, through ln_final's cached
 * scale ({@link ActivationCache#logitAttrs}).
 *
 * @param position the position read (0-based)
 * @param answer the answer's id
 * @param wrong the wrong answer's id, or null
 * @param heads [layer][head] each head's attribution
 * @param componentLabels the residual decomposition's labels ({@code embed}, {@code 0_attn_out}, …)
 * @param components their attributions
 */
public record AttributionView(int position, long answer, Long wrong, float[][] heads, List<String> componentLabels,
        float[] components) {

    /**
     * What an attribution request sends.
     *
     * @param answer the token whose logit is attributed, or null for the actual next token (the top
     *     prediction at the last position)
     * @param wrong a token whose logit is subtracted, or null
     * @param position the position, negative from the end; default -1
     */
    public record Request(String model, Prompt prompt, Long answer, Long wrong, Integer position,
            List<Intervention> interventions) {}

    /** Attributes the answer's logit at {@code position} of {@code ids} [pos], with {@code hooks} in the run. */
    public static AttributionView compute(ServedModel served, long[] ids, Long answer, Long wrong, Integer position,
            List<HookSpec> hooks) {
        var config = served.model().config();
        int pos = ids.length;
        int p = position == null ? pos - 1 : position < 0 ? pos + position : position;
        if (p < 0 || p >= pos) {
            throw new LoupeException("Position " + position + " is outside the prompt's " + pos + " tokens");
        }
        int vocab = config.dVocabOut();
        for (Long id : new Long[] {answer, wrong}) {
            if (id != null && (id < 0 || id >= vocab)) {
                throw new LoupeException("Token " + id + " is outside the vocabulary 0.." + (vocab - 1));
            }
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, pos);
            try (ActivationCache cache = served.model().runWithCache(tokens, CacheOptions.all(), hooks)) {
                long right = answer != null ? answer
                        : p < pos - 1 ? ids[p + 1] : cache.logits().get(":, -1, :").argMax().getLong();
                NDArray rightIds = manager.create(new long[] {right});
                NDArray wrongIds = wrong == null ? null : manager.create(new long[] {wrong});
                PosSlice at = PosSlice.at(p);
                LabelledStack headStack = cache.stackHeadResults(StackOptions.defaults().withPosSlice(at));
                float[] flatHeads = cache.logitAttrs(headStack.stack(), rightIds, wrongIds, at).toFloatArray();
                float[][] heads = new float[config.nLayers()][config.nHeads()];
                for (int l = 0; l < heads.length; l++) {
                    System.arraycopy(flatHeads, l * config.nHeads(), heads[l], 0, config.nHeads());
                }
                LabelledStack parts = cache.decomposeResid(StackOptions.defaults().withPosSlice(at));
                float[] components = cache.logitAttrs(parts.stack(), rightIds, wrongIds, at).toFloatArray();
                return new AttributionView(p, right, wrong, heads, parts.labels(), components);
            }
        }
    }
}
