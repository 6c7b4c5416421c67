package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeVersion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code loupe train}: train a model with Loupe's own training pieces; {@code loupe train toy} is the first kind. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        usageHelpAutoWidth = true,
        header = "Train a model from scratch with Loupe's own code (no download).",
        description = {
            "",
            "`loupe train toy` trains a small attention-only transformer on repeated random tokens, the"
                    + " task that makes induction heads form (the models in the repository's models/ folder"
                    + " were made this way). `loupe train ioi` trains a small transformer with MLPs on a synthetic"
                    + " indirect-object-identification task (models/ioi-3l).",
            ""
        },
        commandListHeading = "%nKinds:%n",
        subcommands = {ToyTrainCommand.class, IoiTrainCommand.class})
public final class TrainCommand implements Runnable {
    @Spec
    CommandSpec spec;

    /** Without a kind: say which ones exist (usage error, exit code 2). */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing what to train: pick one of "
                + String.join(", ", spec.subcommands().keySet()) + " (e.g. `loupe train toy --layers 2 --out DIR`).");
    }
}
