package dev.loupe.cli.demo;

import dev.loupe.lens.Lens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.train.toy.RepeatHalves;
import dev.loupe.viz.Heatmap;
import dev.loupe.viz.HtmlReport;
import dev.loupe.viz.PromptViews;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * The page {@code loupe demo} writes, loupe-demo.html: what the terminal shows of the induction run (the loss
 * on each half, every head's induction and previous-token score as heatmaps [n_layers, n_heads]), then for
 * each input its attention patterns (every layer; the repeated sequence's open on the strongest induction
 * head), its logit-lens trajectory and the model's top predictions after its last token.
 */
public final class DemoReport {
    public static final String FILE_NAME = "loupe-demo.html";

    private DemoReport() {}

    /**
     * Writes the page into {@code outDir} (created if missing), or into a new folder in the system's
     * temporary directory when {@code outDir} is null.
     *
     * @param induction the induction run, whose sequence is the first input
     * @param lenses tuned lenses to draw beside the logit lens (empty for none)
     * @param titles one per input: the prompt, or a description of token ids
     * @param inputs the token ids of each input, the induction run's sequence first
     * @param top how many top predictions to show
     * @param note a line under the title (the random-weights warning), or null
     * @return the page's path
     */
    public static Path write(HookedTransformer model, InductionDemo induction, List<? extends Lens> lenses,
            List<String> titles, List<long[]> inputs, int top, String note, Path outDir) throws IOException {
        Path dir = outDir != null ? Files.createDirectories(outDir) : Files.createTempDirectory("loupe-demo-");
        HtmlReport report = HtmlReport.titled("Loupe demo: " + model.config().modelName());
        if (note != null) {
            report.paragraph(note);
        }
        RepeatHalves halves = induction.halves();
        report.paragraph(String.format(Locale.ROOT, "Loss on the first half (random tokens) %.3f, on the repeated half"
                + " %.3f: %.1f %% of the first. Induction heads make the repeated half predictable.",
                halves.firstHalf(), halves.repeatedHalf(), 100 * halves.ratio()));
        int[] strongest = strongest(induction.induction());
        report.paragraph(String.format(Locale.ROOT, "Strongest induction head: L%dH%d (score %.2f); the attention view"
                + " below opens on it.", strongest[0], strongest[1], induction.induction()[strongest[0]][strongest[1]]));
        report.heatmap(scores("Induction score of each head", induction.induction(), "induction score"));
        report.heatmap(scores("Previous-token score of each head", induction.previousToken(), "previous-token score"));
        for (int i = 0; i < inputs.size(); i++) {
            PromptViews.addTo(report, model, lenses, titles.get(i), inputs.get(i), top, i == 0 ? strongest[0] : 0,
                    i == 0 ? strongest[1] : 0);
        }
        return report.write(dir.resolve(FILE_NAME));
    }

    /** {layer, head} of the highest score (the first of equals). */
    static int[] strongest(float[][] scores) {
        int[] best = {0, 0};
        for (int layer = 0; layer < scores.length; layer++) {
            for (int head = 0; head < scores[layer].length; head++) {
                if (scores[layer][head] > scores[best[0]][best[1]]) {
                    best = new int[] {layer, head};
                }
            }
        }
        return best;
    }

    private static Heatmap scores(String title, float[][] scores, String valueName) {
        List<String> layers = IntStream.range(0, scores.length).mapToObj(l -> "L" + l).toList();
        List<String> heads = IntStream.range(0, scores[0].length).mapToObj(h -> "H" + h).toList();
        String[][] text = new String[scores.length][];
        for (int layer = 0; layer < scores.length; layer++) {
            text[layer] = new String[scores[layer].length];
            for (int head = 0; head < scores[layer].length; head++) {
                text[layer][head] = String.format(Locale.ROOT, "%.2f", scores[layer][head]);
            }
        }
        Heatmap plain = Heatmap.sequential(title, "layer", layers, "head", heads, scores, valueName);
        return new Heatmap(title, "layer", layers, "head", heads, scores, valueName, plain.scale(), text);
    }
}
