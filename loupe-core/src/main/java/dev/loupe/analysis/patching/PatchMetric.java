package dev.loupe.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.run.Metric;

/**
 * TransformerLens's {@code patching_metric}: a scalar computed from the logits of ONE patched run,
 * {@code logits [batch, pos, d_vocab_out]} where batch is the corrupted tokens' batch. For example
 * the logit difference between the right and the wrong answer at the last position.
 *
 * <p>Batched patching stacks several patched runs along the batch dimension; it then calls
 * {@link #applyEach} on {@code [runs * batch, pos, d_vocab_out]}, whose default evaluates
 * {@link #apply} on each run's rows. Override {@code applyEach} with a vectorised version when the
 * metric allows it (see {@link #logitDiff}).
 *
 * <p>Arrays made while computing the metric belong to the logits' manager, which patching frees
 * after each batch of runs.
 */
@FunctionalInterface
public interface PatchMetric {
    /**
     * @param logits [batch, pos, d_vocab_out] of one run
     * @return the metric
     */
    float apply(NDArray logits);

    /**
     * The metric of each of {@code runs} runs stacked along the batch dimension.
     *
     * @param logits [runs * batch, pos, d_vocab_out]; run {@code i} is rows {@code i*batch … (i+1)*batch - 1}
     * @param runs how many runs are stacked
     * @return one value per run, in order
     */
    default float[] applyEach(NDArray logits, int runs) {
        long rows = logits.getShape().get(0) / runs;
        float[] out = new float[runs];
        for (int i = 0; i < runs; i++) {
            try (NDArray one = logits.get(new NDIndex("{}:{}", i * rows, (i + 1) * rows))) {
                out[i] = apply(one);
            }
        }
        return out;
    }

    /**
     * The positions whose logits the metric reads, or null (the default) for all of them. When set,
     * the metric receives only those positions' logits, in this order: [batch, positions.length,
     * d_vocab_out] (negative positions count from the end). The batched sweep then unembeds just
     * those positions, which saves most of the vocabulary projection.
     */
    default int[] positions() {
        return null;
    }

    /** Adapts a {@link Metric} (logits → scalar NDArray) to patching. */
    static PatchMetric of(Metric metric) {
        return logits -> {
            try (NDArray value = metric.apply(logits)) {
                if (value.size() != 1) {
                    throw new LoupeException("A patching metric must be a scalar, got shape " + value.getShape());
                }
                return value.toType(DataType.FLOAT32, false).toFloatArray()[0];
            }
        };
    }

    /**
     * {@code logits[:, -1, correct] - logits[:, -1, wrong]}, averaged over the batch: the usual IOI
     * metric, vectorised over stacked runs. It reads the last position only ({@link #positions()}).
     */
    static PatchMetric logitDiff(long correct, long wrong) {
        return new LastPositionMetric() {
            @Override
            public float[] applyEach(NDArray logits, int runs) {
                try (NDArray right = logits.get(new NDIndex(":, -1, {}", correct));
                     NDArray wrongLogit = logits.get(new NDIndex(":, -1, {}", wrong));
                     NDArray diff = right.sub(wrongLogit);
                     NDArray perRun = diff.reshape(runs, -1).mean(new int[] {1})) {
                    return perRun.toType(DataType.FLOAT32, false).toFloatArray();
                }
            }
        };
    }

    /**
     * {@code logits[b, -1, correct[b]] - logits[b, -1, wrong[b]]}, averaged over the batch: the IOI metric
     * for a batch whose prompts each have their own answer (TransformerLens's IOI notebook with
     * {@code answer_tokens [batch, 2]}), vectorised over stacked runs. It reads the last position only.
     *
     * @param correct the right answer of each prompt [batch]
     * @param wrong the wrong answer of each prompt [batch]
     */
    static PatchMetric logitDiff(long[] correct, long[] wrong) {
        if (correct.length != wrong.length || correct.length == 0) {
            throw new LoupeException("logitDiff needs one right and one wrong answer per prompt, got " + correct.length
                    + " right and " + wrong.length + " wrong");
        }
        return new LastPositionMetric() {
            @Override
            public float[] applyEach(NDArray logits, int runs) {
                int batch = correct.length;
                long vocab = logits.getShape().get(2);
                if (logits.getShape().get(0) != (long) runs * batch) {
                    throw new LoupeException("logitDiff was made for " + batch + " prompts, but the logits hold "
                            + logits.getShape().get(0) + " rows for " + runs + " run(s): pass one answer per prompt");
                }
                float[] signs = new float[Math.multiplyExact(batch, (int) vocab)];
                for (int b = 0; b < batch; b++) {
                    signs[b * (int) vocab + (int) correct[b]] += 1f;
                    signs[b * (int) vocab + (int) wrong[b]] -= 1f;
                }
                try (NDArray last = logits.get(new NDIndex(":, -1, :")).toType(DataType.FLOAT32, false);
                     NDArray mask = last.getManager().create(signs, new Shape(1, batch, vocab));
                     NDArray perRow = last.reshape(runs, batch, vocab).mul(mask).sum(new int[] {2});
                     NDArray perRun = perRow.mean(new int[] {1})) {
                    return perRun.toFloatArray();
                }
            }
        };
    }
}
