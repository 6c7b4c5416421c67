package dev.loupe.cli.support;

import dev.loupe.LoupeException;
import dev.loupe.config.WeightDtype;
import dev.loupe.hub.ModelResolver;
import dev.loupe.lens.LensBasis;
import dev.loupe.lens.TunedLensFiles;
import dev.loupe.model.HookedTransformer;
import dev.loupe.process.ProcessOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * The options of every command that loads a model, as a picocli mixin
 * ({@code @Mixin ModelOptions modelOptions;}), and the CLI's one rule for loading it.
 *
 * <ul>
 *   <li>{@code --model MODEL}: a model folder, a TransformerLens name or alias, or a Hugging Face
 *       repository id (see {@link #folder()}). Required, unless the command names a default with
 *       {@code @Command(modelTransformer = ...)} and a subclass of {@link DefaultModel}.
 *   <li>{@code --no-processing}: the weights as they are, TransformerLens's
 *       {@code from_pretrained_no_processing}.
 *   <li>{@code --dtype float32|float16}: how the weights are kept in memory ({@link WeightDtype});
 *       computation is float32 either way.
 * </ul>
 *
 * <p><b>The loading rule</b> ({@link #load(LensBasis)}, which every command loads through). As
 * TransformerLens's {@code from_pretrained} and Loupe's {@code HookedTransformer.fromPretrained}, the
 * weights are processed by default ({@link ProcessOptions#defaults()}: fold LayerNorm, centre the
 * weights that write to the residual stream, centre the unembedding, fold value biases), which keeps
 * predictions and changes logits by a per-position constant; {@code --no-processing} loads them as
 * Hugging Face has them. A command whose numbers live in one basis of the residual stream names it
 * instead, and says so in its {@code --help}: a command that reads a tuned lens loads the model in the
 * basis the lens was trained in ({@link #lensBasis(Path)}: unprocessed for every lens of the Python
 * tuned-lens library, processed as recorded for a lens Loupe trained on a processed model), and the
 * {@code lens} commands load unprocessed also without a lens, because the Python library's lenses,
 * training and evaluation read Hugging Face's residual stream. {@code --no-processing} with a lens
 * that needs processed weights is refused. {@code loupe shell} writes the same choice into its
 * start-up script ({@link #processed()}, {@link #dtype()}).
 */
public final class ModelOptions {
    /** The help's description of {@code --model}. */
    static final String MODEL_DESCRIPTION = "A model folder (config.json + model.safetensors, Hugging Face's or Loupe's"
            + " native format), a TransformerLens name or alias (gpt2, gpt2-small, pythia-70m), or a Hugging Face"
            + " repository id (org/name), downloaded once into the Hugging Face cache shared with Python (HF_HOME,"
            + " HF_HUB_CACHE, HF_HUB_OFFLINE, HF_TOKEN, HF_ENDPOINT are read as huggingface_hub reads them; a Java"
            + " system property of the same name wins). A folder that exists wins.";

    /**
     * What the {@code lens} commands add to their description: how they load the model. One text, so
     * that every command that reads a Python-trained lens says the same.
     */
    public static final String LENS_BASIS_DESCRIPTION = "Weights: tuned lenses of the Python tuned-lens library were"
            + " trained on the model's own weights, so the model is loaded unprocessed (as with --no-processing),"
            + " with or without a lens; a lens Loupe trained on a processed model has it processed as the lens"
            + " records.";

    /** The command this mixin is part of. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = MODEL_DESCRIPTION)
    String model;

    @Option(names = "--no-processing",
            description = "Load the weights as they are (TransformerLens's from_pretrained_no_processing): logits then"
                    + " equal Hugging Face's. Default: processed as TransformerLens's from_pretrained does (fold_ln,"
                    + " centred writing weights and unembedding, folded value biases), unless the command's"
                    + " description says it needs another basis (tuned lenses).")
    boolean noProcessing;

    @Option(names = "--dtype", paramLabel = "float32|float16", defaultValue = "float32", converter = DtypeConverter.class,
            description = "How the weights are kept in memory: float16 halves it, each layer being widened to float32"
                    + " as it runs (default: ${DEFAULT-VALUE}).")
    WeightDtype dtype;

    /** The folder once resolved: a name may download, so it is resolved once. */
    private Path folder;

    /** The {@code --model} value as given, or null when it was left out. */
    public String given() {
        return model;
    }

    /**
     * The model folder {@code --model} names, downloading into the Hugging Face cache when it names a
     * model by name or id that is not there yet; without {@code --model}, the command's default.
     */
    public Path folder() {
        if (folder == null) {
            if (model != null) {
                folder = ModelResolver.fromEnvironment().resolve(model);
            } else if (command.modelTransformer() instanceof DefaultModel fallback) {
                folder = fallback.folder();
            } else {
                throw new IllegalStateException(command.qualifiedName() + " has no --model and no default model");
            }
        }
        return folder;
    }

    /** Whether the rule processes the weights when the command needs no particular basis. */
    public boolean processed() {
        return !noProcessing;
    }

    /** How the weights are kept in memory. */
    public WeightDtype dtype() {
        return dtype;
    }

    /** As {@link #load(LensBasis)} for a command that needs no particular basis. */
    public HookedTransformer load() {
        return load(null);
    }

    /**
     * Loads the model by the CLI's loading rule (see the class's description).
     *
     * @param basis the basis the command's numbers need: a tuned lens's ({@link #lensBasis(Path)}), or
     *     {@link LensBasis#HUGGING_FACE} for the lens commands without a lens; null when any will do,
     *     and the weights are then processed unless {@code --no-processing}
     */
    public HookedTransformer load(LensBasis basis) {
        HookedTransformer model = loadIn(basis);
        // One line each, on stderr: they say what the load did (tensors kept in float32), not what the command computed.
        model.loadWarnings().forEach(line -> command.commandLine().getErr().println("loupe: " + line));
        return model;
    }

    private HookedTransformer loadIn(LensBasis basis) {
        Path dir = folder();
        if (basis == null) {
            return noProcessing ? HookedTransformer.fromPretrainedNoProcessing(dir, dtype)
                    : HookedTransformer.fromPretrained(dir, ProcessOptions.defaults(), dtype);
        }
        if (basis.isHuggingFace()) {
            return HookedTransformer.fromPretrainedNoProcessing(dir, dtype);
        }
        if (noProcessing) {
            throw new LoupeException("--no-processing contradicts what this command reads (a tuned lens or an SAE),"
                    + " which needs the model " + basis.describe() + "; leave --no-processing out");
        }
        try {
            return HookedTransformer.fromPretrained(dir, basis.processOptions(), dtype);
        } catch (LoupeException e) {
            throw new LoupeException("What this command reads (a tuned lens or an SAE) needs the model "
                    + basis.describe() + ", which failed: " + e.getMessage(), e);
        }
    }

    /**
     * The basis the tuned lens in {@code lensDir} was trained in, as its config.json records it
     * (Hugging Face's for every lens of the Python library), or null without a lens.
     */
    public static LensBasis lensBasis(Path lensDir) {
        return lensDir == null ? null : TunedLensFiles.readConfig(lensDir).basis();
    }

    /** {@code float32} or {@code float16}, any case. */
    static final class DtypeConverter implements ITypeConverter<WeightDtype> {
        @Override
        public WeightDtype convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "float32" -> WeightDtype.FLOAT32;
                case "float16" -> WeightDtype.FLOAT16;
                default -> throw new TypeConversionException("expected float32 or float16, got '" + value + "'");
            };
        }
    }

    /**
     * For a command whose {@code --model} may be left out: a model folder of the Loupe repository
     * (found through the {@code loupe.home} property the {@code loupe} script sets). Name a subclass
     * in {@code @Command(modelTransformer = ...)}: it makes {@code --model} optional and says the
     * default in its help.
     */
    public abstract static class DefaultModel implements IModelTransformer {
        private final String relative;
        private final String name;
        private final String help;

        /**
         * @param relative the folder, relative to the repository
         * @param name what messages call it ("the demo model")
         * @param help what the help adds to {@code --model}'s description
         */
        protected DefaultModel(String relative, String name, String help) {
            this.relative = relative;
            this.name = name;
            this.help = help;
        }

        /** The default folder; throws, for a one-line error, if it is missing. */
        public Path folder() {
            Path dir = Path.of(System.getProperty("loupe.home", ".")).resolve(relative);
            if (!Files.isDirectory(dir)) {
                throw new LoupeException(name + " " + dir.toAbsolutePath().normalize() + " is missing; run loupe"
                        + " through the loupe script in the repository, or pass --model DIR");
            }
            return dir;
        }

        /** Makes {@code --model} optional, with the default in its description; keeps the options' order. */
        @Override
        public CommandSpec transform(CommandSpec spec) {
            List<OptionSpec> options = List.copyOf(spec.options());
            for (OptionSpec option : options) {
                spec.remove(option);
            }
            for (OptionSpec option : options) {
                spec.addOption(!option.longestName().equals("--model") ? option : OptionSpec.builder(option)
                        .required(false).description(String.join(" ", option.description()) + " " + help).build());
            }
            return spec;
        }
    }

    /** The repository's testdata/models/gpt2-tok: GPT-2's architecture and vocabulary, random weights. */
    public static final class TokenizerFixture extends DefaultModel {
        public TokenizerFixture() {
            super("testdata/models/gpt2-tok", "the default model",
                    "Default: the repository's testdata/models/gpt2-tok (random weights).");
        }
    }
}
