package dev.loupe.sae.eval;

import dev.loupe.LoupeException;
import dev.loupe.tokenize.Tokenizer;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

/**
 * How {@link SaeEvaluation} splits its tokens and which it leaves out, as SAELens's {@code EvalConfig} and
 * {@code run_evals(exclude_special_tokens=...)}: the tokens [n_prompts, pos] are cut into batches of
 * {@code batchSizePrompts} rows; the first {@code nEvalReconstructionBatches} give the CE and KL metrics, the first
 * {@code nEvalSparsityVarianceBatches} (from the start again, as SAELens resets its store) the sparsity, variance,
 * shrinkage and per-feature metrics. Tokens in {@code excludedTokens} are left out of every per-token statistic
 * (and the CE/KL run keeps the clean activation there, except for hook_z SAEs, as SAELens's replacement hooks do).
 *
 * @param batchSizePrompts SAELens's {@code batch_size_prompts}, ≥ 1
 * @param nEvalReconstructionBatches SAELens's {@code n_eval_reconstruction_batches}, ≥ 1
 * @param nEvalSparsityVarianceBatches SAELens's {@code n_eval_sparsity_variance_batches}, ≥ 1
 * @param excludedTokens token ids left out (SAELens's {@code ignore_tokens}); empty for none
 */
public record SaeEvalOptions(int batchSizePrompts, int nEvalReconstructionBatches, int nEvalSparsityVarianceBatches,
        Set<Long> excludedTokens) {
    public SaeEvalOptions {
        if (batchSizePrompts < 1 || nEvalReconstructionBatches < 1 || nEvalSparsityVarianceBatches < 1) {
            throw new LoupeException("batch_size_prompts, n_eval_reconstruction_batches and n_eval_sparsity_variance_batches"
                    + " must each be at least 1, got " + batchSizePrompts + ", " + nEvalReconstructionBatches + ", "
                    + nEvalSparsityVarianceBatches);
        }
        excludedTokens = Set.copyOf(excludedTokens);
    }

    /** {@code batches} batches of {@code batchSizePrompts} rows for both kinds of metric, no token excluded. */
    public static SaeEvalOptions of(int batchSizePrompts, int batches) {
        return new SaeEvalOptions(batchSizePrompts, batches, batches, Set.of());
    }

    /** The same options leaving {@code tokens} out. */
    public SaeEvalOptions excluding(Collection<Long> tokens) {
        return new SaeEvalOptions(batchSizePrompts, nEvalReconstructionBatches, nEvalSparsityVarianceBatches,
                Set.copyOf(tokens));
    }

    /** The rows the evaluation reads: batchSizePrompts · max(both batch counts). */
    public int promptsNeeded() {
        return batchSizePrompts * Math.max(nEvalReconstructionBatches, nEvalSparsityVarianceBatches);
    }

    /**
     * A tokenizer's special tokens as {@code exclude_special_tokens=True} finds them: its BOS, EOS and pad ids
     * (Loupe's tokenizer names no others; SAELens also adds {@code unk} and any additional special tokens).
     */
    public static Set<Long> specialTokenIds(Tokenizer tokenizer) {
        Set<Long> ids = new TreeSet<>();
        for (long id : new long[] {tokenizer.bosId(), tokenizer.eosId(), tokenizer.padId()}) {
            if (id >= 0) {
                ids.add(id);
            }
        }
        return ids;
    }
}
