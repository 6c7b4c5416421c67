package dev.loupe.viz;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A prediction trajectory: what a lens (the logit lens, a tuned lens) reads out of the residual
 * stream at every layer and position, as Tuned Lens's {@code PredictionTrajectory} plots it.
 *
 * @param lens the lens's name ({@code "logit lens"}, {@code "tuned lens"})
 * @param tokens the input's token labels, one per position
 * @param layers a label per row, bottom (embeddings) first; the last row is usually the model's output
 * @param cells {@code [layer][pos]}: what the lens predicts at that layer and position
 */
public record TrajectoryData(String lens, List<String> tokens, List<String> layers, List<List<Cell>> cells) {

    public TrajectoryData {
        tokens = List.copyOf(tokens);
        layers = List.copyOf(layers);
        cells = cells.stream().map(List::copyOf).toList();
        if (cells.size() != layers.size()) {
            throw new IllegalArgumentException("A trajectory needs one row of cells per layer: " + layers.size()
                    + " layers, " + cells.size() + " rows");
        }
        for (List<Cell> row : cells) {
            if (row.size() != tokens.size()) {
                throw new IllegalArgumentException("Each trajectory row needs one cell per position (" + tokens.size()
                        + "), got " + row.size());
            }
        }
    }

    /**
     * What the lens predicts at one layer and position.
     *
     * @param topTokens the most probable next tokens' labels, most probable first
     * @param topProbs their probabilities
     * @param entropy the entropy of the lens's distribution over the vocabulary, in nats
     * @param klToFinal KL(final ‖ lens) in nats: how far the model's output distribution is from this one
     *     (0 on the output row)
     */
    public record Cell(List<String> topTokens, float[] topProbs, float entropy, float klToFinal) {
        public Cell {
            topTokens = List.copyOf(topTokens);
            topProbs = topProbs.clone();
            if (topTokens.isEmpty() || topTokens.size() != topProbs.length) {
                throw new IllegalArgumentException("A trajectory cell needs at least one top token and one"
                        + " probability per top token, got " + topTokens.size() + " tokens, " + topProbs.length
                        + " probabilities");
            }
        }

        @Override
        public float[] topProbs() {
            return topProbs.clone();
        }

        /** The probability of the most probable token. */
        public float topProb() {
            return topProbs[0];
        }
    }

    /** A statistic a trajectory is coloured by. */
    public enum Statistic {
        /** The top token's probability, on [0, 1]. */
        PROBABILITY("probability", "p(top-1)"),
        /** The entropy in nats, from 0 to the largest in the trajectory. */
        ENTROPY("entropy", "entropy, nats"),
        /** KL(final ‖ lens) in nats, from 0 to the largest in the trajectory. */
        KL("kl", "KL(final ‖ lens), nats");

        private final String key;
        private final String label;

        Statistic(String key, String label) {
            this.key = key;
            this.label = label;
        }

        /** The name used in HTML and on the command line ({@code probability}, {@code entropy}, {@code kl}). */
        public String key() {
            return key;
        }

        /** The axis label. */
        public String label() {
            return label;
        }

        /** The statistic of one cell. */
        public float of(Cell cell) {
            return switch (this) {
                case PROBABILITY -> cell.topProb();
                case ENTROPY -> cell.entropy();
                case KL -> cell.klToFinal();
            };
        }
    }

    /** The colour scale of {@code statistic} over this trajectory. */
    public ColorScale scale(Statistic statistic) {
        if (statistic == Statistic.PROBABILITY) {
            return ColorScale.blues(0, 1);
        }
        double max = 0;
        for (List<Cell> row : cells) {
            for (Cell cell : row) {
                max = Math.max(max, statistic.of(cell));
            }
        }
        double top = max > 0 && Double.isFinite(max) ? max : 1;
        return statistic == Statistic.ENTROPY ? ColorScale.purples(0, top) : ColorScale.oranges(0, top);
    }

    /**
     * The trajectory as a heatmap: rows are layers with the output on top (as Tuned Lens draws it),
     * columns are positions, each cell shows its top token and is coloured by {@code statistic}.
     */
    public Heatmap toHeatmap(Statistic statistic) {
        int rows = layers.size();
        float[][] values = new float[rows][];
        String[][] text = new String[rows][];
        for (int r = 0; r < rows; r++) {
            List<Cell> row = cells.get(rows - 1 - r);
            values[r] = new float[row.size()];
            text[r] = new String[row.size()];
            for (int p = 0; p < row.size(); p++) {
                values[r][p] = statistic.of(row.get(p));
                text[r][p] = row.get(p).topTokens().get(0);
            }
        }
        List<String> rowLabels = new ArrayList<>(layers);
        Collections.reverse(rowLabels);
        return new Heatmap(lens + " — top prediction, coloured by " + statistic.key(), "", rowLabels, "input",
                tokens, values, statistic.label(), scale(statistic), text);
    }
}
