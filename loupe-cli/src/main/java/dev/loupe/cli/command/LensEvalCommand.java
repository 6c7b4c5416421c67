package dev.loupe.cli.command;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.Table;
import dev.loupe.lens.LensHook;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.eval.LensEvalOptions;
import dev.loupe.lens.eval.LensEvaluator;
import dev.loupe.lens.eval.LensMetrics;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StoppedException;
import dev.loupe.tokenize.TextDocuments;
import dev.loupe.tokenize.TokenChunks;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe lens eval}: the logit lens and a tuned lens on held-out text, as the Python library's {@code eval}. */
@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Evaluate the logit lens (and a tuned lens) per layer: cross-entropy, entropy and KL to the output.",
        description = {
            "",
            "As the Python tuned-lens library's `eval`: each batch's mean per layer, averaged over batches and"
                    + " reported in bits per byte (nats per token × tokens ÷ UTF-8 bytes ÷ ln 2; KL and entropy are"
                    + " scaled the same way). Cross-entropy is against the next token (--token-shift 1); KL(output ‖"
                    + " lens) and entropy are per position.",
            "",
            "OUTPUT/aggregate_metrics.json gets {\"logit\": {\"ce\": {\"layer_0\": …}, \"entropy\": …, \"kl\": …},"
                    + " \"tuned\": …, \"baseline\": {\"ce\": {\"final\": …}, \"entropy\": {\"final\": …}}}.",
            "",
            ModelOptions.LENS_BASIS_DESCRIPTION,
            ""
        })
final class LensEvalCommand extends LoupeCommand {
    /** The file written into OUTPUT. */
    static final String METRICS_FILE = "aggregate_metrics.json";

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", required = true, arity = "1..*", paramLabel = "FILE",
            description = ".jsonl or .txt files to evaluate on.")
    List<Path> data;

    @Option(names = "--text-column", defaultValue = TextDocuments.TEXT_COLUMN, paramLabel = "NAME",
            description = "The .jsonl field holding the text (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(names = {"--lens", "--lens-name", "-l"}, paramLabel = "LENS",
            description = "A tuned lens folder to evaluate beside the logit lens.")
    Path lens;

    @Option(names = {"--output", "-o"}, required = true, paramLabel = "OUTPUT",
            description = "Folder for aggregate_metrics.json.")
    Path output;

    @Option(names = "--tokens", paramLabel = "N", description = "Evaluate at most N tokens (default: all the data).")
    Long tokens;

    @Option(names = "--max-seq-len", defaultValue = "2048", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int maxSeqLen;

    @Option(names = "--per-gpu-batch-size", defaultValue = "1", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--token-shift", defaultValue = "1", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int tokenShift;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--resid-mid",
            description = "Read the logit lens at blocks.i.hook_resid_mid (a tuned lens reads its own hook).")
    boolean residMid;

    @Override
    protected int execute() throws IOException {
        OutputCheck.of(spec).modelFolder(modelOptions.folder()).lensFolder("--lens", lens).files("--data", data)
                .refuseFolder("--output", output, METRICS_FILE);
        try (HookedTransformer transformer = modelOptions.load(LensCommand.basis(lens))) {
            TokenChunks chunks = LensCommand.corpus(transformer, modelOptions.folder(), "lens eval", data, textColumn, maxSeqLen);
            try (TunedLens tuned = lens == null ? null : TunedLens.load(lens, transformer)) {
                LensHook hook = tuned != null ? tuned.hook() : residMid ? LensHook.RESID_MID : LensHook.RESID_PRE;
                LensEvalOptions options = new LensEvalOptions(maxSeqLen, batchSize, tokens, tokenShift, seed, hook);
                LensMetrics metrics;
                try {
                    metrics = LensEvaluator.evaluate(transformer, tuned, chunks, options);
                } catch (StoppedException e) {
                    throw new StoppedException(e.reason(), e.progress() + "; " + output + " was not written");
                }
                safePoint("after the last batch, before writing " + output + "; it was not written");
                Path file = output.resolve(METRICS_FILE);
                AtomicFiles.writeString(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(metrics.toJson()));
                print(metrics);
                out().println("Wrote " + file);
                out().flush();
            }
        }
        return 0;
    }

    private void print(LensMetrics metrics) {
        out().printf(Locale.ROOT, "%d tokens; bits per byte (×%.4f from nats per token)%n", metrics.tokens(),
                metrics.natsToBitsPerByte());
        boolean tuned = metrics.tuned() != null;
        List<String> header = new ArrayList<>(List.of("layer", "logit ce", "logit kl", "logit H"));
        if (tuned) {
            header.addAll(List.of("tuned ce", "tuned kl", "tuned H"));
        }
        Table table = Table.withHeader(header.toArray(String[]::new)).alignRight(1, 2, 3);
        if (tuned) {
            table.alignRight(4, 5, 6);
        }
        for (int layer = 0; layer < metrics.logit().get("ce").length; layer++) {
            List<String> row = new ArrayList<>(List.of(String.valueOf(layer)));
            row.addAll(cells(metrics.logit(), layer));
            if (tuned) {
                row.addAll(cells(metrics.tuned(), layer));
            }
            table.row(row.toArray(String[]::new));
        }
        List<String> output = new ArrayList<>(List.of("output", number(metrics.baselineCe()), "",
                number(metrics.baselineEntropy())));
        while (output.size() < header.size()) {
            output.add("");
        }
        table.row(output.toArray(String[]::new));
        table.print(out());
    }

    private static List<String> cells(Map<String, double[]> metrics, int layer) {
        return List.of(number(metrics.get("ce")[layer]), number(metrics.get("kl")[layer]),
                number(metrics.get("entropy")[layer]));
    }

    private static String number(double value) {
        return String.format(Locale.ROOT, "%.4f", value);
    }
}
