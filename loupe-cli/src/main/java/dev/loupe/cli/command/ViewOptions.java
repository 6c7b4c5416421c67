package dev.loupe.cli.command;

import dev.loupe.LoupeException;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.viz.HtmlReport;
import dev.loupe.viz.PngExport;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * The options every {@code loupe view} shares besides the model's ({@link ModelOptions}, whose
 * {@code --model} defaults to {@link ModelOptions.TokenizerFixture}): the prompt and the output file.
 */
final class ViewOptions {
    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "The text to run, with the model's tokenizer (a BOS token is put in front when the model"
                    + " wants one).")
    String prompt;

    @Option(names = "--tokens", paramLabel = "IDS", split = ",",
            description = "Or: token ids to run, comma-separated (0,17,42), as the demo takes them; works on a model"
                    + " without a tokenizer (tokens are shown as #id).")
    long[] tokens;

    @Option(names = "--out", required = true, paramLabel = "FILE",
            description = "Where to write the view: FILE.html (a self-contained page) or FILE.png (an image).")
    Path out;

    /**
     * The ids of --prompt or --tokens (exactly one of them), checked against the model's vocabulary.
     *
     * @param dir the model's folder, for the message when it has no tokenizer
     */
    long[] input(HookedTransformer transformer, Path dir) {
        if ((prompt == null) == (tokens == null)) {
            throw new LoupeException(prompt == null ? "Give the input: --prompt TEXT, or --tokens IDS (comma-separated"
                    + " token ids) for a model without a tokenizer" : "--prompt and --tokens are mutually exclusive:"
                    + " give a text or token ids, not both");
        }
        if (prompt != null) {
            return ids(transformer, dir, prompt, "--prompt");
        }
        return checkedIds(transformer, tokens, "--tokens");
    }

    /** {@code ids} given with {@code option}, refusing none and any that is not in the model's vocabulary. */
    static long[] checkedIds(HookedTransformer transformer, long[] ids, String option) {
        int dVocab = transformer.config().dVocab();
        for (long id : ids) {
            if (id < 0 || id >= dVocab) {
                throw new LoupeException(option + " " + id + " is not a token id of this model: ids run from 0 to "
                        + (dVocab - 1));
            }
        }
        if (ids.length == 0) {
            throw new LoupeException(option + " needs at least one token id");
        }
        return ids.clone();
    }

    /** What the page says the input was: the prompt, or the token ids. */
    String describeInput() {
        return prompt != null ? "Prompt: " + prompt : "Token ids: " + Arrays.toString(tokens);
    }

    /**
     * The prompt's token ids, refusing an empty prompt.
     *
     * @param dir the model's folder, for the message when it has no tokenizer
     */
    long[] ids(HookedTransformer transformer, Path dir, String text, String option) {
        LoupeCommand.requireTokenizer(transformer, dir, option, "a model folder with tokenizer.json");
        long[] ids = transformer.toTokens(java.util.List.of(text), TextOptions.defaults()).ids()[0];
        if (ids.length == 0) {
            throw new LoupeException(option + " \"" + text + "\" has no tokens; give it some text");
        }
        return ids;
    }

    /**
     * Refuses an --out that is inside the model folder or the lens folder the view reads
     * ({@link OutputCheck}), and one that is neither .html nor .png.
     *
     * @param lens the lens folder, or null
     */
    void checkOutput(CommandSpec spec, Path modelFolder, Path lens) {
        png();
        OutputCheck.of(spec).modelFolder(modelFolder).lensFolder("--lens", lens).refuseFile("--out", out);
    }

    /** Whether --out asks for a PNG; throws unless it ends in .html or .png. */
    boolean png() {
        String name = out.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".png")) {
            return true;
        }
        if (name.endsWith(".html") || name.endsWith(".htm")) {
            return false;
        }
        throw new LoupeException("--out " + out + ": the file name must end in .html (a page) or .png (an image)");
    }

    /**
     * Writes the page or the image, whichever --out names, and returns a line saying what was written.
     *
     * @param weights the {@link dev.loupe.cli.support.WeightsNote} line, which the image gets as its caption and as
     *     its PNG description (the page shows it as its first paragraph)
     */
    String write(String weights, Supplier<HtmlReport> page, Supplier<BufferedImage> image) {
        LoupeCommand.safePoint("before writing " + out + "; nothing was written");
        if (png()) {
            BufferedImage rendered = PngExport.caption(image.get(), weights);
            PngExport.write(rendered, out, weights);
            return String.format(Locale.ROOT, "Wrote %s (%d x %d PNG)", out, rendered.getWidth(), rendered.getHeight());
        }
        page.get().write(out);
        return "Wrote " + out + " (open it in a browser; it needs no network)";
    }
}
