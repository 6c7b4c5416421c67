package dev.loupe.viz;

import dev.loupe.train.toy.PhaseRecord;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * The picture of a tracked toy run ({@code loupe train toy --track DIR}): against the training step (columns),
 * every head's induction score, every head's previous-token score, the in-context-learning score and the
 * held-out loss, as heatmaps one below the other. The induction-head phase change shows as the columns where
 * the induction rows turn dark and the in-context-learning score drops, all at once.
 */
public final class PhaseChangeView {
    private PhaseChangeView() {}

    /**
     * Draws {@code records} (in step order) as a PNG image.
     *
     * @param title the run, for the titles ("induction-2l")
     */
    public static BufferedImage render(String title, List<PhaseRecord> records) {
        if (records.isEmpty()) {
            throw new IllegalArgumentException("The tracking has no records to draw");
        }
        List<String> steps = records.stream().map(r -> Long.toString(r.step())).toList();
        int nLayers = records.get(0).induction().length;
        int nHeads = records.get(0).induction()[0].length;
        List<String> heads = new ArrayList<>();
        float[][] induction = new float[nLayers * nHeads][records.size()];
        float[][] previous = new float[nLayers * nHeads][records.size()];
        for (int l = 0; l < nLayers; l++) {
            for (int h = 0; h < nHeads; h++) {
                heads.add("L" + l + "H" + h);
                for (int c = 0; c < records.size(); c++) {
                    induction[l * nHeads + h][c] = records.get(c).induction()[l][h];
                    previous[l * nHeads + h][c] = records.get(c).previousToken()[l][h];
                }
            }
        }
        float[][] icl = new float[1][records.size()];
        float[][] loss = new float[1][records.size()];
        for (int c = 0; c < records.size(); c++) {
            icl[0][c] = (float) records.get(c).iclScore();
            loss[0][c] = (float) records.get(c).evalLoss();
        }
        List<Heatmap> maps = List.of(
                new Heatmap(title + ": induction score of each head", "head", heads, "step", steps, induction,
                        "induction score", ColorScale.blues(0, 1), null),
                new Heatmap(title + ": previous-token score of each head", "head", heads, "step", steps, previous,
                        "previous-token score", ColorScale.blues(0, 1), null),
                Heatmap.diverging(title + ": in-context-learning score (late - early token loss, nats)", "",
                        List.of("ICL score"), "step", steps, icl, "nats"),
                Heatmap.sequential(title + ": held-out loss (nats)", "", List.of("loss"), "step", steps, loss, "nats"));
        return PngExport.stack(maps.stream().map(PngExport::render).toList());
    }
}
