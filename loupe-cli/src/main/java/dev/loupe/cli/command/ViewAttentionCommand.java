package dev.loupe.cli.command;

import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.WeightsNote;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenDisplay;
import dev.loupe.viz.AttentionPatterns;
import dev.loupe.viz.HtmlReport;
import dev.loupe.viz.PngExport;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe view attention}: every head's attention pattern, as CircuitsVis's attention_heads. */
@Command(
        name = "attention",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        modelTransformer = ModelOptions.TokenizerFixture.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Attention patterns: one grid per head, token labels, hover for the weight.",
        description = {
            "",
            "Runs the model on --prompt and shows blocks.L.attn.hook_pattern: for each head, how much each"
                    + " destination token (row) attends to each source token (column).",
            "",
            "HTML: a thumbnail per head, the chosen head large with token labels, and a layer picker (every layer"
                    + " unless --layer). PNG: a panel per head, four to a row, one row of panels per layer.",
            ""
        })
final class ViewAttentionCommand extends LoupeCommand {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    ViewOptions view;

    @Option(names = "--layer", paramLabel = "L", description = "Only this layer (default: every layer).")
    Integer layer;

    @Override
    protected int execute() {
        view.checkOutput(spec, modelOptions.folder(), null);
        try (HookedTransformer model = modelOptions.load();
                NDManager manager = NDManager.newBaseManager()) {
            int nLayers = model.config().nLayers();
            if (layer != null && (layer < 0 || layer >= nLayers)) {
                throw new LoupeException("--layer " + layer + " is not a layer of this model; it has layers 0 to "
                        + (nLayers - 1));
            }
            long[] ids = view.input(model, modelOptions.folder());
            List<String> tokens = TokenDisplay.labels(model.hasTokenizer() ? model.tokenizer() : null, ids);
            List<AttentionPatterns> layers = new ArrayList<>();
            String hooks = layer == null ? ".*\\.attn\\.hook_pattern" : "blocks\\." + layer + "\\.attn\\.hook_pattern";
            try (ActivationCache cache = model.runWithCache(manager.create(ids).reshape(1, ids.length),
                    CacheOptions.matching(hooks))) {
                for (int l = 0; l < nLayers; l++) {
                    if (layer == null || layer == l) {
                        layers.add(AttentionPatterns.fromCache(cache, l, 0, tokens));
                    }
                }
            }
            String weights = WeightsNote.of(modelOptions.folder());
            String line = view.write(weights,
                    () -> HtmlReport.titled("Attention patterns of " + model.config().modelName())
                            .paragraph(weights)
                            .paragraph(view.describeInput())
                            .attention("Attention patterns", layers),
                    () -> {
                        List<BufferedImage> rows = new ArrayList<>();
                        for (AttentionPatterns patterns : layers) {
                            rows.add(PngExport.render(patterns));
                        }
                        return PngExport.stack(rows);
                    });
            out().println(line);
            out().flush();
        }
        return 0;
    }
}
