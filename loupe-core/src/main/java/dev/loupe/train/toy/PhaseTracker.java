package dev.loupe.train.toy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.AtomicFiles;
import dev.loupe.LoupeException;
import dev.loupe.analysis.heads.DetectionPattern;
import dev.loupe.analysis.heads.HeadDetector;
import dev.loupe.config.TransformerConfig;
import dev.loupe.model.HookedTransformer;
import dev.loupe.train.TrainingRandom;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Follows the induction-head phase change through a toy run: every {@code every} steps (and at steps 0 and
 * the last) it measures the model on fixed held-out data and appends a {@link PhaseRecord} to
 * {@code DIR/tracking.csv}, so the file grows while the run goes on.
 *
 * <p>The measures, as in Olsson et al. (2022) scaled to a 64-token context: the held-out loss on 32
 * training-like sequences; the in-context-learning score, that loss on the late tokens (positions
 * {@link #LATE}) minus on the early ones ({@link #EARLY}); and every head's induction and previous-token score
 * (TransformerLens's {@code detect_head}, attention to BOS left out) averaged over 4 sequences "BOS, n random
 * tokens, the same n again".
 */
public final class PhaseTracker {
    /** Query positions whose next-token loss is "early" in the context: 1..8 (predicting tokens 2..9). */
    public static final int[] EARLY = {1, 9};
    /** Query positions whose next-token loss is "late": 48..62 (the last 15 predictions of 64 tokens). */
    public static final int[] LATE = {48, 63};
    /** Held-out data comes from this seed offset, apart from the training batches and the final evaluation. */
    private static final long SEED_OFFSET = 0x7EAC4L;
    private static final int ICL_SEQUENCES = 32;
    private static final int HEAD_SEQUENCES = 4;

    private final Path csv;
    private final int every;
    private final long[] iclIds;
    private final int nCtx;
    private final List<long[]> headSequences = new ArrayList<>();

    /**
     * A tracker writing into {@code dir} (created if missing).
     *
     * @param every steps between records
     */
    public PhaseTracker(Path dir, int every, ToyTrainingOptions options) {
        if (every < 1) {
            throw new LoupeException("Tracking needs a step interval >= 1, got " + every);
        }
        if (options.nCtx() < LATE[1] + 1) {
            throw new LoupeException("Tracking the phase change needs a context of at least " + (LATE[1] + 1)
                    + " tokens (its late-token loss is read at positions " + LATE[0] + ".." + (LATE[1] - 1) + "); got "
                    + options.nCtx());
        }
        this.csv = dir.resolve("tracking.csv");
        this.every = every;
        this.nCtx = options.nCtx();
        TrainingRandom random = TrainingRandom.seeded(options.seed() + SEED_OFFSET);
        RepeatedTokens data = new RepeatedTokens(options.dVocab(), options.nCtx(), options.minRepeat(),
                options.maxRepeat());
        iclIds = data.batch(random, ICL_SEQUENCES);
        int n = Math.min(31, (options.nCtx() - 2) / 2);
        for (int i = 0; i < HEAD_SEQUENCES; i++) {
            headSequences.add(RepeatedTokens.repeatedTwice(random, n, options.dVocab()));
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new LoupeException("Cannot create the tracking folder " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The file the records go to: {@code DIR/tracking.csv}. */
    public Path file() {
        return csv;
    }

    /**
     * Starts the file at {@code firstStep}: a fresh run writes the header; a resumed one keeps the rows up to its
     * checkpoint's step and drops any written after it.
     */
    void start(long firstStep, TransformerConfig cfg) {
        List<String> kept = new ArrayList<>();
        kept.add(PhaseRecord.header(cfg.nLayers(), cfg.nHeads()));
        if (firstStep > 0 && Files.exists(csv)) {
            for (PhaseRecord record : PhaseRecord.read(csv)) {
                if (record.step() <= firstStep) {
                    kept.add(record.toCsv());
                }
            }
        }
        try {
            AtomicFiles.writeString(csv, String.join("\n", kept) + "\n");
        } catch (IOException e) {
            throw new LoupeException("Cannot write the tracking file " + csv + ": " + e.getMessage(), e);
        }
    }

    /** Whether step {@code step} of {@code steps} gets a record. */
    boolean due(long step, long steps) {
        return step % every == 0 || step == steps;
    }

    /** Measures {@code params} after {@code step} steps and appends the record. */
    PhaseRecord record(long step, double trainLoss, TransformerConfig cfg, Map<String, NDArray> params,
            NDManager manager) {
        try (NDManager scope = manager.newSubManager()) {
            HookedTransformer model = new HookedTransformer(cfg, params, scope);
            NDArray tokens = scope.create(iclIds, new Shape(ICL_SEQUENCES, nCtx));
            NDArray perToken = model.loss(tokens, true); // [batch, pos - 1]
            double evalLoss = perToken.mean().getFloat();
            double early = perToken.get(":, {}:{}", EARLY[0], EARLY[1]).mean().getFloat();
            double late = perToken.get(":, {}:{}", LATE[0], LATE[1]).mean().getFloat();
            float[][] induction = new float[cfg.nLayers()][cfg.nHeads()];
            float[][] previous = new float[cfg.nLayers()][cfg.nHeads()];
            HeadDetector.Options noBos = HeadDetector.Options.defaults().withExcludeBos(true);
            for (long[] ids : headSequences) {
                NDArray sequence = scope.create(ids, new Shape(1, ids.length));
                add(induction, HeadDetector.detectHead(model, sequence, DetectionPattern.INDUCTION, null, noBos));
                add(previous, HeadDetector.detectHead(model, sequence, DetectionPattern.PREVIOUS_TOKEN, null, noBos));
            }
            scale(induction, 1f / headSequences.size());
            scale(previous, 1f / headSequences.size());
            PhaseRecord record = new PhaseRecord(step, trainLoss, evalLoss, late - early, induction, previous);
            try {
                Files.writeString(csv, record.toCsv() + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new LoupeException("Cannot append to the tracking file " + csv + ": " + e.getMessage(), e);
            }
            return record;
        }
    }

    private static void add(float[][] sum, float[][] scores) {
        for (int l = 0; l < sum.length; l++) {
            for (int h = 0; h < sum[l].length; h++) {
                sum[l][h] += scores[l][h];
            }
        }
    }

    private static void scale(float[][] scores, float factor) {
        for (float[] layer : scores) {
            for (int h = 0; h < layer.length; h++) {
                layer[h] *= factor;
            }
        }
    }
}
