package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeVersion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code loupe view attention|trajectory|patching}: write a view of a model run to HTML or PNG. */
@Command(
        name = "view",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Write a view of a model run as a self-contained HTML page or a PNG image.",
        description = {
            "",
            "The HTML pages carry everything inline (no network is needed, or used, to open them): hover a cell"
                    + " to see its tokens and value. PNG images show the same heatmaps, for papers and terminals.",
            ""
        },
        commandListHeading = "%nViews:%n",
        subcommands = {ViewAttentionCommand.class, ViewTrajectoryCommand.class, ViewPatchingCommand.class},
        footer = {
            "",
            "Examples:",
            "  loupe view attention --prompt 'When Mary and John went to the store' \\",
            "    --out attention.html",
            "  loupe view trajectory --model testdata/models/gpt2-tok \\",
            "    --prompt 'The capital of France is' --out lens.png",
            "  loupe view patching --prompt 'The Eiffel Tower is in the city of' \\",
            "    --corrupted 'The Colosseum is in the city of' --out patching.html",
            "  loupe view patching --model models/induction-2l --tokens 0,11,23,35,11,23 \\",
            "    --corrupted-tokens 0,11,23,47,11,23 --patch heads --out heads.png"
        })
public final class ViewCommand implements Runnable {
    @Spec
    CommandSpec spec;

    /** Without a view: say which ones exist (usage error, exit code 2). */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing a view: pick one of "
                + String.join(", ", spec.subcommands().keySet()) + ".");
    }
}
