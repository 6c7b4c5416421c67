package dev.loupe.viz;

import dev.loupe.lens.stats.TrajectoryStatistic;
import dev.loupe.lens.stats.TrajectoryStatsReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Heatmaps of trajectory statistics (loupe-lens {@code dev.loupe.lens.stats}): one per statistic,
 * its layers (and the output) as rows and positions as columns, each cell the mean over the batch's
 * real tokens. Signed statistics (log-probability differences) are drawn red–blue around zero, the
 * others white to blue from their smallest to their largest value; {@link HtmlReport#heatmap} shows
 * them on a page and {@link PngExport#render(Heatmap)} draws them as images.
 */
public final class TrajectoryStatisticPlots {
    private TrajectoryStatisticPlots() {}

    /**
     * The heatmap of one statistic.
     *
     * @param name what to call it in the title, e.g. {@code "tuned.entropy"}
     * @param positions column labels (tokens or positions), one per position
     */
    public static Heatmap heatmap(String name, TrajectoryStatistic statistic, List<String> positions) {
        float[][] values = statistic.batched();
        int sequences = statistic.perSequence().length;
        String title = name + " (mean over " + sequences + (sequences == 1 ? " sequence)" : " sequences)");
        List<String> rows = statistic.rowLabels().stream()
                .map(label -> label.equals("output") || label.contains("→") ? label : "layer " + label).toList();
        return isSigned(statistic.name())
                ? Heatmap.diverging(title, "", rows, "position", positions, values, statistic.name())
                : Heatmap.sequential(title, "", rows, "position", positions, values, statistic.name());
    }

    /** Every statistic of a report, in its order, with positions 0, 1, … as column labels. */
    public static List<Heatmap> heatmaps(TrajectoryStatsReport report) {
        List<Heatmap> maps = new ArrayList<>();
        for (Map.Entry<String, TrajectoryStatistic> entry : report.statistics().entrySet()) {
            maps.add(heatmap(entry.getKey(), entry.getValue(), positions(entry.getValue())));
        }
        return maps;
    }

    /** "0", "1", … for each position of {@code statistic}. */
    public static List<String> positions(TrajectoryStatistic statistic) {
        List<String> labels = new ArrayList<>();
        for (int p = 0; p < statistic.perSequence()[0][0].length; p++) {
            labels.add(Integer.toString(p));
        }
        return labels;
    }

    private static boolean isSigned(String statistic) {
        return statistic.startsWith("log_prob_diff");
    }
}
