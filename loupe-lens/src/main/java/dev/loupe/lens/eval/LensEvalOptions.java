package dev.loupe.lens.eval;

import dev.loupe.LoupeException;
import dev.loupe.lens.LensHook;
import java.io.Serializable;

/**
 * How lenses are evaluated; defaults are the tuned-lens library's {@code eval}.
 *
 * @param maxSeqLen the sequence length the data is cut into (capped by the model's context)
 * @param perGpuBatchSize sequences per forward pass
 * @param tokens evaluate at most this many tokens (null: all the data), as the library's {@code --tokens}
 * @param tokenShift how far predictions are shifted against the next-token labels of the cross-entropy
 * @param seed the order of the sequences
 * @param hook the residual stream the logit lens reads (a tuned lens reads its own)
 * @param shuffle whether the sequences are shuffled with {@code seed} (the library's way) or read in order
 * @param layerTransfer also every translator on every layer's residual (the library's {@code --layer_transfer})
 * @param recordLogitStats also the average prediction and its Dirichlet fit per layer (the library's
 *     {@code --record_logit_stats})
 */
public record LensEvalOptions(int maxSeqLen, int perGpuBatchSize, Long tokens, int tokenShift, long seed,
        LensHook hook, boolean shuffle, boolean layerTransfer, boolean recordLogitStats) implements Serializable {
    private static final long serialVersionUID = 1L;


    public LensEvalOptions {
        if (maxSeqLen < 1 || perGpuBatchSize < 1 || (tokens != null && tokens < 1) || tokenShift < 0) {
            throw new LoupeException("Evaluation needs a positive sequence length, batch size and token limit, and a"
                    + " token shift ≥ 0");
        }
        hook = hook == null ? LensHook.RESID_PRE : hook;
    }

    /** Shuffled, without layer transfer or logit statistics. */
    public LensEvalOptions(int maxSeqLen, int perGpuBatchSize, Long tokens, int tokenShift, long seed, LensHook hook) {
        this(maxSeqLen, perGpuBatchSize, tokens, tokenShift, seed, hook, true, false, false);
    }

    /** The library's defaults: sequences of 2,048, one per pass, all the data, token shift 1, seed 42. */
    public static LensEvalOptions defaults() {
        return new LensEvalOptions(2048, 1, null, 1, 42, LensHook.RESID_PRE);
    }

    public LensEvalOptions withMaxSeqLen(int length) {
        return new LensEvalOptions(length, perGpuBatchSize, tokens, tokenShift, seed, hook, shuffle, layerTransfer,
                recordLogitStats);
    }

    public LensEvalOptions withPerGpuBatchSize(int size) {
        return new LensEvalOptions(maxSeqLen, size, tokens, tokenShift, seed, hook, shuffle, layerTransfer,
                recordLogitStats);
    }

    public LensEvalOptions withTokens(Long limit) {
        return new LensEvalOptions(maxSeqLen, perGpuBatchSize, limit, tokenShift, seed, hook, shuffle, layerTransfer,
                recordLogitStats);
    }

    public LensEvalOptions withTokenShift(int shift) {
        return new LensEvalOptions(maxSeqLen, perGpuBatchSize, tokens, shift, seed, hook, shuffle, layerTransfer,
                recordLogitStats);
    }

    public LensEvalOptions withSeed(long order) {
        return new LensEvalOptions(maxSeqLen, perGpuBatchSize, tokens, tokenShift, order, hook, shuffle, layerTransfer,
                recordLogitStats);
    }

    /** Read the sequences in the data's order ({@code false}) or shuffled with the seed. */
    public LensEvalOptions withShuffle(boolean shuffled) {
        return new LensEvalOptions(maxSeqLen, perGpuBatchSize, tokens, tokenShift, seed, hook, shuffled, layerTransfer,
                recordLogitStats);
    }

    public LensEvalOptions withLayerTransfer(boolean transfer) {
        return new LensEvalOptions(maxSeqLen, perGpuBatchSize, tokens, tokenShift, seed, hook, shuffle, transfer,
                recordLogitStats);
    }

    public LensEvalOptions withRecordLogitStats(boolean record) {
        return new LensEvalOptions(maxSeqLen, perGpuBatchSize, tokens, tokenShift, seed, hook, shuffle, layerTransfer,
                record);
    }
}
