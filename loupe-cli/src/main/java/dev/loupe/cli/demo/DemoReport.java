package dev.loupe.cli.demo;

import dev.loupe.lens.Lens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.viz.HtmlReport;
import dev.loupe.viz.PromptViews;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The page {@code loupe demo} writes, loupe-demo.html: for each input, its attention patterns (every
 * layer), its logit-lens trajectory and the model's top predictions after its last token.
 */
public final class DemoReport {
    public static final String FILE_NAME = "loupe-demo.html";

    private DemoReport() {}

    /**
     * Writes the page into {@code outDir} (created if missing), or into a new folder in the system's
     * temporary directory when {@code outDir} is null.
     *
     * @param lenses tuned lenses to draw beside the logit lens (empty for none)
     * @param titles one per input: the prompt, or a description of token ids
     * @param inputs the token ids of each input
     * @param top how many top predictions to show
     * @param note a line under the title (the random-weights warning), or null
     * @return the page's path
     */
    public static Path write(HookedTransformer model, List<? extends Lens> lenses, List<String> titles, List<long[]> inputs,
            int top, String note, Path outDir) throws IOException {
        Path dir = outDir != null ? Files.createDirectories(outDir) : Files.createTempDirectory("loupe-demo-");
        HtmlReport report = HtmlReport.titled("Loupe demo: " + model.config().modelName());
        if (note != null) {
            report.paragraph(note);
        }
        for (int i = 0; i < inputs.size(); i++) {
            PromptViews.addTo(report, model, lenses, titles.get(i), inputs.get(i), top);
        }
        return report.write(dir.resolve(FILE_NAME));
    }
}
