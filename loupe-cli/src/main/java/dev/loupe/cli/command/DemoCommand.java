package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cli.demo.DemoReport;
import dev.loupe.cli.demo.InductionDemo;
import dev.loupe.cli.demo.LogitLensTable;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.Table;
import dev.loupe.cli.support.WeightsNote;
import dev.loupe.config.TransformerConfig;
import dev.loupe.lens.PredictionTrajectory;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.tokenize.TokenDisplay;
import dev.loupe.tokenize.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe demo}: next-token predictions and a logit lens on a small model. */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        modelTransformer = DemoCommand.InductionModel.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Show a real mechanism: induction heads in a small model Loupe trained itself, and the logit lens.",
        description = {
            "",
            "Runs the model on a random sequence of tokens repeated once (BOS, 31 random tokens, the same 31"
                    + " again) and prints:",
            "  * the model's shape,",
            "  * the loss on the first half (random, unpredictable) and on the repeated half,",
            "  * every head's induction and previous-token score (TransformerLens's detect_head),",
            "  * the logit lens at a few positions: each layer's residual stream read out through",
            "    ln_final and the unembedding, as if the model stopped at that layer.",
            "",
            "The default model is the repository's models/induction-2l: a 2-layer attention-only transformer"
                    + " that Loupe trained on repeated random tokens (see its MODEL.md). It has an induction"
                    + " circuit: a previous-token head in layer 0 and induction heads in layer 1, so its loss on"
                    + " the repeated half is a small fraction of that on the first half. models/attn-only-1l, one"
                    + " layer trained the same way, cannot form the circuit: compare with --model.",
            "",
            "With a tuned lens (--lens DIR, or a tuned-lens/ folder inside the model folder: config.json and"
                    + " params.pt as the Python tuned-lens library or `loupe lens train` writes them), its prediction"
                    + " trajectory is printed for the first input too, and drawn beside the logit lens in the page.",
            "",
            "With --model DIR any model runs the same. If it has a tokenizer (tokenizer.json, or vocab.json +"
                    + " merges.txt), a text prompt follows, with its top next-token predictions and the logit lens"
                    + " at its last position; --prompt TEXT (repeatable) chooses the texts, with a BOS token in"
                    + " front when the model wants one, as TransformerLens's to_tokens does. --tokens runs token"
                    + " ids instead, and works on a folder without a tokenizer (tokens are then shown as #id).",
            "",
            "Weights are processed as TransformerLens's from_pretrained does (--no-processing: as they are). With a"
                    + " tuned lens the model is loaded in the basis the lens was trained in instead: unprocessed for"
                    + " the Python library's lenses.",
            ""
        })
public final class DemoCommand extends LoupeCommand {
    static final String DEFAULT_PROMPT = "The quick brown fox jumps over the lazy dog.";
    /** Where a model folder may keep its tuned lens. */
    static final String TUNED_LENS = "tuned-lens";
    /** The shipped 2-layer induction model, relative to the repository (loupe.home). */
    static final String DEFAULT_MODEL = "models/induction-2l";

    /** --model defaults to the shipped induction model. */
    static final class InductionModel extends ModelOptions.DefaultModel {
        InductionModel() {
            super(DEFAULT_MODEL, "the demo model", "Default: " + DEFAULT_MODEL + " in the Loupe repository.");
        }
    }

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "A text to run (default: \"" + DEFAULT_PROMPT + "\"); repeat the flag for several.")
    List<String> prompts;

    @Option(names = "--tokens", paramLabel = "IDS", split = ",",
            description = "Or: comma-separated token ids to run instead of a text, like 50256,464,2068.")
    long[] tokens;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5",
            description = "How many next-token predictions to show (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = {"--lens", "-l"}, paramLabel = "LENS",
            description = "A tuned lens folder for the model (default: the model folder's tuned-lens/, if there is one).")
    Path lens;

    @Option(names = "--out-dir", paramLabel = "DIR",
            description = "Where to write loupe-demo.html, the demo's views as a page (default: a new folder in the"
                    + " system's temporary directory).")
    Path outDir;

    /** One text to show: the prompt (null for --tokens) and its token ids. */
    private record Input(String prompt, long[] ids) {}

    @Override
    protected int execute() throws IOException {
        if (top < 1) {
            throw new ParameterException(spec.commandLine(), "--top must be at least 1, got " + top);
        }
        if (prompts != null && tokens != null) {
            throw new ParameterException(spec.commandLine(), "--prompt and --tokens are mutually exclusive: give texts"
                    + " (--prompt TEXT, repeated for several) or token ids (--tokens IDS), not both");
        }
        if (tokens != null && tokens.length == 0) {
            throw new ParameterException(spec.commandLine(), "--tokens needs at least one token id");
        }
        Path dir = modelOptions.folder();
        boolean fixture = WeightsNote.isRandomFixture(dir);

        Path lensDir = lens != null ? lens : Files.isRegularFile(dir.resolve(TUNED_LENS).resolve("config.json"))
                ? dir.resolve(TUNED_LENS) : null;
        OutputCheck.of(spec).modelFolder(dir).lensFolder("--lens", lensDir).refuseFolder("--out-dir", outDir,
                DemoReport.FILE_NAME);
        try (HookedTransformer transformer = modelOptions.load(ModelOptions.lensBasis(lensDir));
                TunedLens tuned = lensDir == null ? null : TunedLens.load(lensDir, transformer);
                NDManager manager = NDManager.newBaseManager()) {
            boolean withTokenizer = transformer.hasTokenizer();
            safePoint("before the first pass; nothing was written");
            InductionDemo induction = InductionDemo.run(transformer, withTokenizer ? transformer.tokenizer().bosId() : 0);
            // A model without a tokenizer shows a text section only when asked, with --tokens (or --prompt, which fails).
            List<Input> inputs = withTokenizer || tokens != null || prompts != null ? inputs(transformer, dir) : List.of();
            List<LogitLensTable> lenses = new ArrayList<>();
            for (Input input : inputs) {
                NDArray ids = manager.create(input.ids()).reshape(1, input.ids().length);
                safePoint("between the demo's passes; nothing was written");
                lenses.add(LogitLensTable.run(transformer, ids, top));
            }
            Tokenizer names = withTokenizer ? transformer.tokenizer() : null;
            PrintWriter out = out();
            printHeader(out, dir, transformer.config(), fixture);
            induction.print(out, names);
            for (int i = 0; i < inputs.size(); i++) {
                if (inputs.size() > 1) {
                    out.println();
                    out.printf(Locale.ROOT, "=== Prompt %d of %d ===%n", i + 1, inputs.size());
                }
                printSection(out, inputs.get(i), lenses.get(i), names);
            }
            if (tuned != null) {
                out.println();
                long[] first = inputs.isEmpty() ? induction.ids() : inputs.get(0).ids();
                out.println("Tuned lens " + lensDir + ":");
                out.print(PredictionTrajectory.compute(tuned, transformer, manager.create(first).reshape(1, first.length),
                        null, top, List.of()).toTable());
            }
            out.println();
            out.println("Next: `loupe hooks --model DIR` lists every hook point, and `loupe cache`");
            out.println("writes activations to a file that numpy reads. Tutorials to paste into `loupe shell`");
            out.println("(TransformerLens's Main Demo, the induction-head phase change, an IOI circuit hunt,");
            out.println("the tuned lens): docs/tutorials/README.md.");
            List<String> titles = new ArrayList<>(List.of("A random sequence repeated once"));
            List<long[]> shown = new ArrayList<>(List.of(induction.ids()));
            for (Input input : inputs) {
                titles.add(input.prompt() != null ? input.prompt() : input.ids().length + " token ids");
                shown.add(input.ids());
            }
            safePoint("before writing the page; it was not written");
            Path report = DemoReport.write(transformer, induction, tuned == null ? List.of() : List.of(tuned), titles,
                    shown, top, WeightsNote.of(dir), outDir);
            out.println();
            out.println("Report     " + report.toAbsolutePath() + " (attention patterns, logit-lens trajectory,");
            out.println("           top predictions: open it in a browser, it needs no network)");
            out.flush();
        }
        return 0;
    }

    /** The --tokens ids, or each prompt (the default one if none) tokenized on its own. */
    private List<Input> inputs(HookedTransformer transformer, Path dir) {
        if (tokens != null) {
            return List.of(new Input(null, tokens));
        }
        requireTokenizer(transformer, dir, prompts == null ? "the default prompt" : "--prompt", "--tokens IDS");
        List<Input> inputs = new ArrayList<>();
        for (String prompt : prompts == null ? List.of(DEFAULT_PROMPT) : prompts) {
            long[] ids = transformer.toTokens(List.of(prompt), TextOptions.defaults()).ids()[0];
            if (ids.length == 0) {
                throw new LoupeException("--prompt \"" + TokenDisplay.visible(prompt, false)
                        + "\" has no tokens; give it some text");
            }
            inputs.add(new Input(prompt, ids));
        }
        return inputs;
    }

    private static void printHeader(PrintWriter out, Path dir, TransformerConfig config, boolean fixture) {
        out.printf(Locale.ROOT, "Model      %s (%s)%n", config.modelName(), dir.toAbsolutePath().normalize());
        out.printf(Locale.ROOT, "Shape      %d layers, d_model %d, %d heads of d_head %d, %s, vocabulary %d,"
                        + " context %d%n", config.nLayers(), config.dModel(), config.nHeads(), config.dHead(),
                config.attnOnly() ? "attention only" : "d_mlp " + config.dMlp(), config.dVocab(), config.nCtx());
        if (fixture) {
            out.println();
            out.println("NOTE: this model's weights are RANDOM (a test fixture, never trained), so its");
            out.println("      predictions below are meaningless. The demo shows what Loupe computes, not");
            out.println("      what a language model would say. Pass --model DIR to use a trained model.");
        }
    }

    /**
     * One input's tokens, top predictions and logit lens.
     *
     * @param names the tokenizer to name tokens with, or null (tokens show as #id)
     */
    private static void printSection(PrintWriter out, Input input, LogitLensTable lens, Tokenizer names) {
        long[] ids = input.ids();
        out.println();
        if (input.prompt() != null) {
            out.println("Prompt     \"" + TokenDisplay.visible(input.prompt(), false) + "\"");
        } else {
            out.printf(Locale.ROOT, "Input      %d token ids (--tokens)%n", ids.length);
        }
        if (names != null) {
            out.println("Tokens     " + String.join(" | ", TokenDisplay.texts(names, ids).stream().map(Table::token)
                    .toList()));
        }
        StringBuilder idText = new StringBuilder();
        for (long id : ids) {
            idText.append(idText.length() == 0 ? "" : " ").append(id);
        }
        out.printf(Locale.ROOT, "Token ids  %s  (%d token%s)%n", idText, ids.length, ids.length == 1 ? "" : "s");
        lens.print(out, names, ids[ids.length - 1]);
    }
}
