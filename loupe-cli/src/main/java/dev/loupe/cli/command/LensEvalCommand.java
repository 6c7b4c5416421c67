package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.Table;
import dev.loupe.lens.LensHook;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.eval.LensEvalFiles;
import dev.loupe.lens.eval.LensEvalOptions;
import dev.loupe.lens.eval.LensEvaluation;
import dev.loupe.lens.eval.LensEvaluator;
import dev.loupe.lens.eval.LensMetrics;
import dev.loupe.lens.eval.TokenIdInput;
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
import picocli.CommandLine.ParameterException;

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
                    + " \"tuned\": …, \"baseline\": {\"ce\": {\"final\": …}, \"entropy\": {\"final\": …}}};"
                    + " OUTPUT/batches.jsonl the list of every batch's means in nats, in the order evaluated (text is"
                    + " shuffled with --seed, --input rows are read in order).",
            "",
            ModelOptions.LENS_BASIS_DESCRIPTION,
            ""
        },
        footer = {
            "",
            "Example (token ids, in nats, with layer transfer and logit statistics):",
            "  loupe lens eval --model testdata/models/gpt2-tok --lens testdata/lens \\",
            "    --input testdata/lens_extra/inputs.safetensors --layer-transfer \\",
            "    --record-logit-stats --output eval"
        })
final class LensEvalCommand extends LoupeCommand {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", arity = "1..*", paramLabel = "FILE",
            description = ".jsonl or .txt files to evaluate on.")
    List<Path> data;

    @Option(names = "--input", paramLabel = "IN",
            description = "Or token ids: safetensors with int64 input_ids [sequences, pos], one sequence per batch, in"
                    + " order (metrics in nats).")
    Path input;

    @Option(names = "--units", paramLabel = "UNIT", defaultValue = "bpb",
            description = "bpb (bits per byte, the default for --data) or nats (per token; the only unit of --input).")
    String units;

    @Option(names = "--layer-transfer",
            description = "Also every translator on every layer's residual (LENS.layer_transfer.{ce,kl}.layer_i.layer_j:"
                    + " translator i, residual j).")
    boolean layerTransfer;

    @Option(names = "--record-logit-stats",
            description = "Also each layer's mean prediction and Dirichlet fit: logit_stats.json and"
                    + " logit_stats.safetensors.")
    boolean recordLogitStats;

    @Option(names = "--text-column", defaultValue = TextDocuments.TEXT_COLUMN, paramLabel = "NAME",
            description = "The .jsonl field holding the text (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(names = {"--lens", "--lens-name", "-l"}, paramLabel = "LENS",
            description = "A tuned lens folder to evaluate beside the logit lens.")
    Path lens;

    @Option(names = {"--output", "-o"}, required = true, paramLabel = "OUTPUT",
            description = "Folder for aggregate_metrics.json and batches.jsonl.")
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
        boolean nats = checkUnitsAndData();
        OutputCheck check = OutputCheck.of(spec).modelFolder(modelOptions.folder()).lensFolder("--lens", lens);
        if (input != null) {
            check.file("--input", input);
        } else {
            check.files("--data", data);
        }
        check.refuseFolder("--output", output, LensEvalFiles.AGGREGATE, LensEvalFiles.BATCHES,
                LensEvalFiles.LOGIT_STATS_JSON, LensEvalFiles.LOGIT_STATS);
        TokenChunks tokenIds = input == null ? null : TokenIdInput.read(input); // refused before the model loads
        try (HookedTransformer transformer = modelOptions.load(LensCommand.basis(lens))) {
            TokenChunks chunks = tokenIds != null ? tokenIds
                    : LensCommand.corpus(transformer, modelOptions.folder(), "lens eval", data, textColumn, maxSeqLen);
            if (nats && input == null) {
                chunks = new TokenChunks(chunks.chunks(), 1.0);
            }
            try (TunedLens tuned = lens == null ? null : TunedLens.load(lens, transformer)) {
                LensHook hook = tuned != null ? tuned.hook() : residMid ? LensHook.RESID_MID : LensHook.RESID_PRE;
                LensEvalOptions options = new LensEvalOptions(input != null ? chunks.chunkSize() : maxSeqLen, batchSize,
                        tokens, tokenShift, seed, hook, input == null, layerTransfer, recordLogitStats);
                LensEvaluation evaluation;
                try {
                    evaluation = LensEvaluator.run(transformer, tuned, chunks, options);
                } catch (StoppedException e) {
                    throw new StoppedException(e.reason(), e.progress() + "; " + output + " was not written");
                }
                safePoint("after the last batch, before writing " + output + "; it was not written");
                List<Path> written = LensEvalFiles.write(output, evaluation);
                print(evaluation.aggregate());
                written.forEach(file -> out().println("Wrote " + file));
                out().flush();
            }
        }
        return 0;
    }

    /** Exactly one of --data and --input; nats for --input. Returns whether the unit is nats. */
    private boolean checkUnitsAndData() {
        if ((data == null) == (input == null)) {
            throw new ParameterException(spec.commandLine(), "Give the data as text (--data FILE...) or as token ids"
                    + " (--input IN.safetensors), one of the two");
        }
        if (!units.equals("bpb") && !units.equals("nats")) {
            throw new ParameterException(spec.commandLine(), "--units must be bpb or nats, got '" + units + "'");
        }
        boolean explicit = spec.commandLine().getParseResult().hasMatchedOption("--units");
        if (input != null && explicit && units.equals("bpb")) {
            throw new ParameterException(spec.commandLine(), "--units bpb needs text (--data): token ids have no bytes;"
                    + " --input reports nats");
        }
        return input != null || units.equals("nats");
    }

    private void print(LensMetrics metrics) {
        if (metrics.natsToBitsPerByte() == 1.0) {
            out().printf(Locale.ROOT, "%d tokens; nats per token%n", metrics.tokens());
        } else {
            out().printf(Locale.ROOT, "%d tokens; bits per byte (×%.4f from nats per token)%n", metrics.tokens(),
                    metrics.natsToBitsPerByte());
        }
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
