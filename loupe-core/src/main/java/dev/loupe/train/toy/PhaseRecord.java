package dev.loupe.train.toy;

import dev.loupe.LoupeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

/**
 * What {@link PhaseTracker} measured at one step of a toy run: one row of its {@code tracking.csv}.
 *
 * @param step optimizer steps done (0: the initial weights)
 * @param trainLoss the last step's training-batch loss (NaN at step 0)
 * @param evalLoss mean next-token loss on the tracker's held-out training-like sequences
 * @param iclScore the in-context-learning score: mean loss on late tokens minus mean loss on early tokens of
 *     those sequences ({@link PhaseTracker#LATE} and {@link PhaseTracker#EARLY}); negative when the context helps
 * @param induction induction score of every head [n_layers][n_heads]
 * @param previousToken previous-token score of every head [n_layers][n_heads]
 */
public record PhaseRecord(long step, double trainLoss, double evalLoss, double iclScore, float[][] induction,
        float[][] previousToken) {
    private static final String FIXED = "step,train_loss,eval_loss,icl_score";

    /** The CSV header for a model of {@code nLayers} × {@code nHeads}: heads are named {@code L0H1}. */
    public static String header(int nLayers, int nHeads) {
        StringJoiner line = new StringJoiner(",", FIXED + ",", "");
        for (String kind : List.of("induction", "previous_token")) {
            for (int l = 0; l < nLayers; l++) {
                for (int h = 0; h < nHeads; h++) {
                    line.add(kind + "_L" + l + "H" + h);
                }
            }
        }
        return line.toString();
    }

    /** This record as a CSV row matching {@link #header}. */
    public String toCsv() {
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6f", step, trainLoss, evalLoss,
                iclScore));
        for (float[][] scores : List.of(induction, previousToken)) {
            for (float[] layer : scores) {
                for (float score : layer) {
                    row.append(String.format(Locale.ROOT, ",%.4f", score));
                }
            }
        }
        return row.toString();
    }

    /** Reads a {@code tracking.csv} that {@link PhaseTracker} wrote. */
    public static List<PhaseRecord> read(Path csv) {
        List<String> lines;
        try {
            lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new LoupeException("Cannot read the tracking file " + csv + ": " + e.getMessage()
                    + "; give the tracking.csv that `loupe train toy --track DIR` wrote", e);
        }
        if (lines.isEmpty() || !lines.get(0).startsWith(FIXED + ",")) {
            throw new LoupeException(csv + " is not a tracking file (its header must start with " + FIXED
                    + "); give the tracking.csv that `loupe train toy --track DIR` wrote");
        }
        String[] columns = lines.get(0).split(",");
        // The last induction column names the last head, "induction_L<layer>H<head>": the model's shape.
        String lastHead = columns[4 + (columns.length - 4) / 2 - 1];
        int layerAt = lastHead.indexOf("_L") + 2;
        int headAt = lastHead.indexOf('H', layerAt);
        int nLayers = Integer.parseInt(lastHead.substring(layerAt, headAt)) + 1;
        int nHeads = Integer.parseInt(lastHead.substring(headAt + 1)) + 1;
        List<PhaseRecord> records = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            String[] cells = lines.get(i).split(",");
            if (cells.length != columns.length) {
                throw new LoupeException(csv + ":" + (i + 1) + " has " + cells.length + " cells, the header "
                        + columns.length + "; the file is cut or mixed from two runs: track again");
            }
            float[][] induction = new float[nLayers][nHeads];
            float[][] previous = new float[nLayers][nHeads];
            for (int l = 0; l < nLayers; l++) {
                for (int h = 0; h < nHeads; h++) {
                    induction[l][h] = Float.parseFloat(cells[4 + l * nHeads + h]);
                    previous[l][h] = Float.parseFloat(cells[4 + nLayers * nHeads + l * nHeads + h]);
                }
            }
            records.add(new PhaseRecord(Long.parseLong(cells[0]), Double.parseDouble(cells[1]),
                    Double.parseDouble(cells[2]), Double.parseDouble(cells[3]), induction, previous));
        }
        return List.copyOf(records);
    }

    /** The highest induction score of any head. */
    public float maxInduction() {
        float max = Float.NEGATIVE_INFINITY;
        for (float[] layer : induction) {
            for (float score : layer) {
                max = Math.max(max, score);
            }
        }
        return max;
    }
}
