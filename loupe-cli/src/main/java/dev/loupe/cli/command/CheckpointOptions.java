package dev.loupe.cli.command;

import dev.loupe.cli.support.OutputCheck;
import dev.loupe.train.TrainingCheckpoint;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The checkpoint options of Loupe's from-scratch trainers ({@code loupe train toy}, {@code loupe train ioi}), as a
 * picocli mixin ({@code @Mixin CheckpointOptions checkpointing;}): where checkpoints go, how often, and whether to
 * resume from the one there.
 */
final class CheckpointOptions {
    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "Folder for checkpoints (default: none).")
    Path checkpoints;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "500",
            description = "Steps between checkpoints (default: ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--resume", description = "Continue from the checkpoint in --checkpoint-dir, if there is one.")
    boolean resume;

    /**
     * The command's output check, which already knows the checkpoint being resumed (the only thing a training run
     * reads), so that {@code --out}'s files are kept off it.
     *
     * @throws ParameterException for --resume without --checkpoint-dir
     */
    OutputCheck outputCheck(CommandSpec spec) {
        if (resume && checkpoints == null) {
            throw new ParameterException(spec.commandLine(), "--resume needs --checkpoint-dir DIR (the interrupted"
                    + " run's checkpoint folder)");
        }
        OutputCheck check = OutputCheck.of(spec);
        if (resume) {
            check.file("--checkpoint-dir", checkpoints.resolve(TrainingCheckpoint.JSON))
                    .file("--checkpoint-dir", checkpoints.resolve(TrainingCheckpoint.TENSORS));
        }
        return check;
    }
}
