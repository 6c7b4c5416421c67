package dev.loupe.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.model.TransformerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe demo}: next-token predictions and a logit lens on a small model. */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Run a model on a sentence: top next-token predictions and a logit-lens table.",
        description = {
            "",
            "Runs the model on token ids, caches its residual stream, and prints:",
            "  * the model's shape and the input,",
            "  * its top next-token predictions after the last token,",
            "  * the logit lens: each layer's residual stream at the last position,",
            "    read out through ln_final and the unembedding, as if the model",
            "    stopped at that layer.",
            "",
            "The default model is the repository's testdata/models/gpt2-tok: GPT-2's architecture and real"
                    + " 50257-token vocabulary with RANDOM weights, so its predictions are meaningless; it shows"
                    + " the machinery. Pass --model for a trained GPT-2 folder (config.json, model.safetensors,"
                    + " tokenizer.json).",
            "",
            "The tokenizer is not implemented yet, so the input is token ids; the default ids are GPT-2's for"
                    + " \"<|endoftext|>The quick brown fox jumps over the lazy dog.\". Token strings are looked up"
                    + " in the model folder's tokenizer.json for display.",
            ""
        })
final class DemoCommand extends LoupeCommand {
    static final long[] DEFAULT_TOKENS = {50256, 464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13};

    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model folder (default: testdata/models/gpt2-tok in the Loupe repository).")
    Path model;

    @Option(names = "--tokens", paramLabel = "IDS", split = ",",
            description = "Comma-separated token ids (default: 50256,464,2068,7586,21831,18045,625,262,16931,3290,13).")
    long[] tokens;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5",
            description = "How many next-token predictions to show (default: ${DEFAULT-VALUE}).")
    int top;

    @Override
    int execute() throws IOException {
        if (top < 1) {
            throw new ParameterException(spec.commandLine(), "--top must be at least 1, got " + top);
        }
        long[] ids = tokens == null ? DEFAULT_TOKENS : tokens;
        if (ids.length == 0) {
            throw new ParameterException(spec.commandLine(), "--tokens needs at least one token id");
        }
        Path home = Path.of(System.getProperty("loupe.home", "."));
        Path dir = model != null ? model : home.resolve("testdata/models/gpt2-tok");
        if (model == null && !Files.isDirectory(dir)) {
            return fail("the demo model " + dir.toAbsolutePath().normalize() + " is missing; run the demo through the"
                    + " loupe script in the repository, or pass --model DIR");
        }
        boolean fixture = isFixture(dir, home);

        try (HookedTransformer transformer = HookedTransformer.fromPretrainedNoProcessing(dir);
                NDManager manager = NDManager.newBaseManager()) {
            TransformerConfig config = transformer.config();
            Optional<Vocabulary> vocabulary = Vocabulary.load(dir);
            NDArray input = manager.create(ids).reshape(1, ids.length);
            LogitLensTable lens = LogitLensTable.run(transformer, input, top);
            print(out(), dir, config, fixture, ids, vocabulary.orElse(null), lens);
        }
        return 0;
    }

    private void print(PrintWriter out, Path dir, TransformerConfig config, boolean fixture, long[] ids,
            Vocabulary vocabulary, LogitLensTable lens) {
        out.printf(Locale.ROOT, "Model      %s (%s)%n", config.modelName(), dir.toAbsolutePath().normalize());
        out.printf(Locale.ROOT, "Shape      %d layers, d_model %d, %d heads of d_head %d, d_mlp %d, vocabulary %d,"
                        + " context %d%n", config.nLayers(), config.dModel(), config.nHeads(), config.dHead(),
                config.dMlp(), config.dVocab(), config.nCtx());
        if (fixture) {
            out.println();
            out.println("NOTE: this model's weights are RANDOM (a test fixture, never trained), so its");
            out.println("      predictions below are meaningless. The demo shows what Loupe computes, not");
            out.println("      what a language model would say. Pass --model DIR to use a trained model.");
        }
        out.println();
        StringBuilder idText = new StringBuilder();
        for (long id : ids) {
            idText.append(idText.length() == 0 ? "" : " ").append(id);
        }
        out.printf(Locale.ROOT, "Input      %d token ids (the tokenizer is not implemented yet):%n", ids.length);
        out.println("           " + idText);
        if (vocabulary != null) {
            out.println("Text       \"" + Vocabulary.visible(vocabulary.decode(ids), false) + "\"");
        }

        String lastToken = vocabulary == null ? "#" + ids[ids.length - 1] : quoted(vocabulary, ids[ids.length - 1]);
        out.println();
        out.printf(Locale.ROOT, "Top %d next-token predictions after the last token (%s):%n", lens.top().size(),
                lastToken);
        List<String[]> predictions = new ArrayList<>();
        predictions.add(new String[] {"rank", "token id", "token", "probability"});
        int rank = 1;
        for (LogitLensTable.Prediction p : lens.top()) {
            predictions.add(new String[] {String.valueOf(rank++), String.valueOf(p.token()),
                tokenText(vocabulary, p.token()), probability(p.probability())});
        }
        printTable(out, predictions, new boolean[] {true, true, false, true});

        LogitLensTable.Prediction finalTop = lens.top().get(0);
        out.println();
        out.println("Logit lens at the last position: each layer's residual stream read out through");
        out.println("ln_final and the unembedding. The last row is the model's own output.");
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"layer", "residual stream", "top-1 id", "token", "p(top-1)",
            "p(" + tokenText(vocabulary, finalTop.token()) + ")"});
        for (LogitLensTable.Row row : lens.rows()) {
            rows.add(new String[] {String.valueOf(row.layer()), row.hook(), String.valueOf(row.best().token()),
                tokenText(vocabulary, row.best().token()), probability(row.best().probability()),
                probability(row.finalTopProbability())});
        }
        printTable(out, rows, new boolean[] {true, false, true, false, true, true});
        out.println();
        out.println("p(" + tokenText(vocabulary, finalTop.token()) + ") is the probability each layer gives the model's"
                + " final top-1 token.");
        out.println("Next: `loupe hooks --model DIR` lists every hook point, and `loupe cache`");
        out.println("writes activations to a file that numpy reads.");
        out.flush();
    }

    private static String tokenText(Vocabulary vocabulary, long id) {
        if (vocabulary == null) {
            return "#" + id;
        }
        return truncate(vocabulary.display(id), 20);
    }

    private static String quoted(Vocabulary vocabulary, long id) {
        return id + " \"" + truncate(vocabulary.display(id), 20) + "\"";
    }

    private static String truncate(String text, int max) {
        return text.codePointCount(0, text.length()) <= max ? text
                : text.substring(0, text.offsetByCodePoints(0, max - 1)) + "…";
    }

    /** A probability with six decimals ({@code 0.010231}). */
    static String probability(float p) {
        return String.format(Locale.ROOT, "%.6f", p);
    }

    /** Prints rows as columns two spaces apart; the first row is the header. */
    private static void printTable(PrintWriter out, List<String[]> rows, boolean[] rightAligned) {
        int columns = rows.get(0).length;
        int[] width = new int[columns];
        for (String[] row : rows) {
            for (int c = 0; c < columns; c++) {
                width[c] = Math.max(width[c], length(row[c]));
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder("  ");
            for (int c = 0; c < columns; c++) {
                String pad = " ".repeat(width[c] - length(row[c]));
                line.append(c == 0 ? "" : "  ").append(rightAligned[c] ? pad + row[c] : row[c] + pad);
            }
            out.println(line.toString().stripTrailing());
        }
    }

    private static int length(String text) {
        return text.codePointCount(0, text.length());
    }

    /** Whether {@code dir} is one of the repository's test fixtures, all of which have random weights. */
    private static boolean isFixture(Path dir, Path home) {
        try {
            Path fixtures = home.resolve("testdata").toRealPath();
            return dir.toRealPath().startsWith(fixtures);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
