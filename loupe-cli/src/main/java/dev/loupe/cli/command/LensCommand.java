package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.lens.LensBasis;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TextDocuments;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code loupe lens}: the logit lens and tuned lenses (the Python tuned-lens library's format). */
@Command(
        name = "lens",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Read a model's intermediate layers as predictions: logit lens and tuned lens.",
        description = {
            "",
            "A tuned lens is a folder with config.json and params.pt, as the Python tuned-lens library's"
                    + " TunedLens.save writes it (params.safetensors works too). Layer i reads the residual stream"
                    + " entering block i (blocks.i.hook_resid_pre, Hugging Face's hidden_states[i]; 0 = the"
                    + " embeddings).",
            "",
            "Lenses from the Python library were trained on the model's own (unprocessed) weights, so these"
                    + " commands load the model unprocessed (--no-processing changes nothing), or processed exactly as"
                    + " a Loupe-trained lens records.",
            ""
        },
        commandListHeading = "%nCommands:%n",
        subcommands = {LensApplyCommand.class, LensTrajectoryCommand.class, LensStatsCommand.class,
            LensTrainCommand.class, LensEvalCommand.class, LensCausalBasisCommand.class, LensGenerateCommand.class,
            CommandLine.HelpCommand.class})
public final class LensCommand implements Runnable {
    @Spec
    CommandSpec spec;

    /** Without a subcommand: say which ones exist (usage error, exit code 2). */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(),
                "Missing a lens command: pick one of apply, trajectory, stats, train, eval, causal-basis, generate.");
    }

    /**
     * The basis the lens commands load the model in (see {@link ModelOptions#load(LensBasis)}): the
     * one the lens in {@code lensDir} was trained in, or, without a lens, Hugging Face's, the basis
     * of the Python tuned-lens library.
     */
    static LensBasis basis(Path lensDir) {
        return lensDir == null ? LensBasis.HUGGING_FACE : ModelOptions.lensBasis(lensDir);
    }

    /**
     * The documents of {@code files} tokenized by the model and cut into sequences of
     * {@code min(maxSeqLen, n_ctx)} tokens, as the lens trainer and evaluator read them.
     *
     * @param command the command, for the message when the model has no tokenizer
     */
    static TokenChunks corpus(HookedTransformer model, Path dir, String command, List<Path> files, String textColumn,
            int maxSeqLen) {
        LoupeCommand.requireTokenizer(model, dir, command, "a model folder with its tokenizer files");
        return TokenChunks.of(TextDocuments.read(files, textColumn), model.tokenizer(),
                Math.min(maxSeqLen, model.config().nCtx()));
    }
}
