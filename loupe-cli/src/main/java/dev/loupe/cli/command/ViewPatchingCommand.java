package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.analysis.patching.PatchFamily;
import dev.loupe.analysis.patching.PatchMetric;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.WeightsNote;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenDisplay;
import dev.loupe.tokenize.Tokenizer;
import dev.loupe.viz.ColorScale;
import dev.loupe.viz.Heatmap;
import dev.loupe.viz.HtmlReport;
import dev.loupe.viz.PngExport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

/** {@code loupe view patching}: an activation-patching map of a clean and a corrupted prompt. */
@Command(
        name = "patching",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        modelTransformer = ModelOptions.TokenizerFixture.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Activation patching: which layer and position (or head) carries the answer.",
        description = {
            "",
            "Runs the corrupted prompt with one activation replaced by the clean prompt's (TransformerLens's"
                    + " get_act_patch_*), once per layer and position (or head), and measures the logit difference"
                    + " between the right answer and the wrong one at the last position.",
            "",
            "--prompt is the clean prompt and --corrupted the corrupted one; they must have the same number of"
                    + " tokens. --answer defaults to the model's top prediction after the clean prompt, --wrong to"
                    + " its top prediction after the corrupted one. Answers are single tokens; GPT-2's words start"
                    + " with a space, so write --answer ' Paris'.",
            "",
            "A model without a tokenizer (models/induction-2l) takes token ids instead: --tokens for the clean"
                    + " input and --corrupted-tokens for the corrupted one, and --answer and --wrong are then token"
                    + " ids too.",
            "",
            "--metric restored (the default) shows (patched - corrupted) / (clean - corrupted): 1 where the patch"
                    + " restores the clean answer completely, 0 where it changes nothing. --metric logit-diff shows"
                    + " the raw logit difference.",
            ""
        })
final class ViewPatchingCommand extends LoupeCommand {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    ViewOptions view;

    @Option(names = "--corrupted", paramLabel = "TEXT",
            description = "The corrupted prompt: as --prompt with the information in question changed.")
    String corrupted;

    @Option(names = "--corrupted-tokens", paramLabel = "IDS", split = ",",
            description = "Or, with --tokens: the corrupted token ids, comma-separated, as many as --tokens has.")
    long[] corruptedTokens;

    @Option(names = "--answer", paramLabel = "TOKEN",
            description = "The right answer after --prompt (one token, or a token id with --tokens; default: the"
                    + " model's top prediction).")
    String answer;

    @Option(names = "--wrong", paramLabel = "TOKEN",
            description = "The wrong answer (one token, or a token id with --tokens; default: the model's top"
                    + " prediction after the corrupted input).")
    String wrong;

    @Option(names = "--patch", paramLabel = "WHAT", defaultValue = "resid_pre", converter = FamilyConverter.class,
            description = "What to patch: resid_pre, attn_out or mlp_out (layer x position), or heads (each head's"
                    + " output at every position: layer x head). Default: ${DEFAULT-VALUE}.")
    PatchFamily patch;

    @Option(names = "--metric", paramLabel = "M", defaultValue = "restored",
            description = "restored (the share of the logit difference restored) or logit-diff (raw). Default:"
                    + " ${DEFAULT-VALUE}.")
    String metricName;

    @Override
    protected int execute() {
        boolean restored = switch (metricName.toLowerCase(Locale.ROOT)) {
            case "restored" -> true;
            case "logit-diff" -> false;
            default -> throw new LoupeException("--metric must be restored or logit-diff, got '" + metricName + "'");
        };
        boolean ids = ids();
        view.checkOutput(spec, modelOptions.folder(), null);
        try (HookedTransformer model = modelOptions.load();
                NDManager manager = NDManager.newBaseManager()) {
            long[] clean = ids ? ViewOptions.checkedIds(model, view.tokens, "--tokens")
                    : view.ids(model, modelOptions.folder(), view.prompt, "--prompt");
            long[] corrupt = ids ? ViewOptions.checkedIds(model, corruptedTokens, "--corrupted-tokens")
                    : view.ids(model, modelOptions.folder(), corrupted, "--corrupted");
            Tokenizer names = model.hasTokenizer() ? model.tokenizer() : null;
            List<String> tokens = TokenDisplay.labels(names, clean);
            if (clean.length != corrupt.length) {
                throw new LoupeException(ids ? "--tokens has " + clean.length + " ids but --corrupted-tokens has "
                        + corrupt.length + "; activation patching needs inputs of the same length"
                        : "--prompt has " + clean.length + " tokens " + tokens + " but --corrupted has " + corrupt.length
                        + " " + TokenDisplay.labels(names, corrupt) + "; activation patching needs prompts of the same"
                        + " length in tokens: change words for words of as many tokens");
            }
            NDArray cleanTokens = manager.create(clean).reshape(1, clean.length);
            NDArray corruptTokens = manager.create(corrupt).reshape(1, corrupt.length);
            try (ActivationCache cache = model.runWithCache(cleanTokens, CacheOptions.matching(hooks(patch)))) {
                NDArray corruptLogits = model.forward(corruptTokens);
                long right = answer != null ? token(model, ids, answer, "--answer") : top(cache.logits());
                long other = wrong != null ? token(model, ids, wrong, "--wrong") : top(corruptLogits);
                String rightText = TokenDisplay.label(names, right);
                String otherText = TokenDisplay.label(names, other);
                if (right == other) {
                    throw new LoupeException("the right and the wrong answer are the same token, \"" + rightText
                            + "\"; name them with --answer TOKEN and --wrong TOKEN");
                }
                PatchMetric metric = PatchMetric.logitDiff(right, other);
                float cleanDiff = metric.apply(cache.logits());
                float corruptDiff = metric.apply(corruptLogits);
                if (restored && Math.abs(cleanDiff - corruptDiff) < 1e-6f) {
                    throw new LoupeException("the clean and the corrupted prompt give the same logit difference ("
                            + cleanDiff + "), so nothing can be restored; use --metric logit-diff, or other prompts");
                }
                safePoint("before the patching passes; nothing was written");
                float[] flat = patch.run(model, corruptTokens, cache, metric).toFloatArray();
                int nLayers = model.config().nLayers();
                int columns = flat.length / nLayers;
                float[][] values = new float[nLayers][columns];
                for (int l = 0; l < nLayers; l++) {
                    for (int c = 0; c < columns; c++) {
                        float v = flat[l * columns + c];
                        values[l][c] = restored ? (v - corruptDiff) / (cleanDiff - corruptDiff) : v;
                    }
                }
                List<String> layers = numbers(nLayers);
                boolean heads = patch == PatchFamily.ATTN_HEAD_OUT_ALL_POS;
                String valueName = restored ? "logit diff restored" : "logit diff";
                String title = "Activation patching of " + patch.activationName()
                        + (heads ? " (each head, all positions)" : "") + ": \u201c" + rightText + "\u201d vs \u201c"
                        + otherText + "\u201d";
                Heatmap signed = Heatmap.diverging(title, "layer", layers, heads ? "head" : "position",
                        heads ? numbers(columns) : tokens, values, valueName);
                // A restored share of 1 is full colour, whatever the largest share is.
                Heatmap map = !restored ? signed : new Heatmap(signed.title(), signed.rowName(), signed.rowLabels(),
                        signed.columnName(), signed.columnLabels(), values, valueName,
                        ColorScale.redBlue(Math.max(1, -signed.scale().min())), null);
                String baseline = String.format(Locale.ROOT, "Logit difference \u201c%s\u201d \u2212 \u201c%s\u201d"
                        + " at the last position: clean %.4f, corrupted %.4f.", rightText, otherText, cleanDiff,
                        corruptDiff);
                String weights = WeightsNote.of(modelOptions.folder());
                String line = view.write(weights,
                        () -> HtmlReport.titled("Activation patching in " + model.config().modelName())
                                .paragraph(weights)
                                .paragraph(ids ? "Clean token ids: " + Arrays.toString(clean) : "Clean: " + view.prompt)
                                .paragraph(ids ? "Corrupted token ids: " + Arrays.toString(corrupt)
                                        : "Corrupted: " + corrupted)
                                .paragraph(baseline + (restored ? " Each cell: (patched \u2212 corrupted) / (clean"
                                        + " \u2212 corrupted); 1 = the patch restores the clean answer." : ""))
                                .heatmap(map),
                        () -> PngExport.render(map));
                out().println(baseline);
                out().println(line);
                out().flush();
            }
        }
        return 0;
    }

    private static String hooks(PatchFamily family) {
        String name = switch (family) {
            case RESID_PRE -> "hook_resid_pre";
            case ATTN_OUT -> "hook_attn_out";
            case MLP_OUT -> "hook_mlp_out";
            default -> "attn\\.hook_z";
        };
        return "blocks\\.\\d+\\." + name;
    }

    /**
     * Whether the inputs are token ids (--tokens and --corrupted-tokens) rather than texts (--prompt and
     * --corrupted); refuses any other mix.
     */
    private boolean ids() {
        if (view.tokens != null && view.prompt == null && corruptedTokens != null && corrupted == null) {
            return true;
        }
        if (view.prompt != null && view.tokens == null && corrupted != null && corruptedTokens == null) {
            return false;
        }
        throw new ParameterException(spec.commandLine(), "view patching compares two inputs of the same kind: --prompt"
                + " TEXT with --corrupted TEXT, or --tokens IDS with --corrupted-tokens IDS (for a model without a"
                + " tokenizer)");
    }

    /** The answer given with {@code option}: a token id when the inputs are ids, else a text of one token. */
    private static long token(HookedTransformer model, boolean ids, String text, String option) {
        if (ids) {
            long id;
            try {
                id = Long.parseLong(text.strip());
            } catch (NumberFormatException e) {
                throw new LoupeException(option + " \"" + text + "\" must be a token id (a number), as the inputs are"
                        + " --tokens");
            }
            return ViewOptions.checkedIds(model, new long[] {id}, option)[0];
        }
        try {
            return model.toSingleToken(text);
        } catch (LoupeException e) {
            throw new LoupeException(option + " \"" + text + "\" must be one token: " + e.getMessage(), e);
        }
    }

    /** The top prediction at the last position of logits [1, pos, d_vocab]. */
    private static long top(NDArray logits) {
        try (NDArray last = logits.get("0, -1"); NDArray best = last.argMax()) {
            return best.toLongArray()[0];
        }
    }

    private static List<String> numbers(int n) {
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            labels.add(String.valueOf(i));
        }
        return labels;
    }

    /** resid_pre, attn_out, mlp_out or heads. */
    static final class FamilyConverter implements ITypeConverter<PatchFamily> {
        @Override
        public PatchFamily convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "resid_pre" -> PatchFamily.RESID_PRE;
                case "attn_out" -> PatchFamily.ATTN_OUT;
                case "mlp_out" -> PatchFamily.MLP_OUT;
                case "heads" -> PatchFamily.ATTN_HEAD_OUT_ALL_POS;
                default -> throw new TypeConversionException("expected resid_pre, attn_out, mlp_out or heads, got '"
                        + value + "'");
            };
        }
    }
}
