package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code loupe sae}: sparse autoencoders and transcoders in SAELens's format, spliced into a model. */
@Command(
        name = "sae",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Splice sparse autoencoders and transcoders (SAELens's folders) into a model, evaluate them and draw"
                + " their features.",
        description = {
            "",
            "An SAE is a folder with cfg.json and sae_weights.safetensors, as SAELens's SAE.save_model writes it"
                    + " (standard, gated, topk, jumprelu and transcoder architectures), or RELEASE/ID, a released SAE"
                    + " that SAELens's SAE.from_pretrained(release, sae_id) loads, downloaded from the Hugging Face Hub"
                    + " unless cached (`loupe sae releases` lists them).",
            "",
            "SAELens loads the model unprocessed (from_pretrained_no_processing) and SAEs only mean something in"
                    + " the basis they were trained in, so these commands load the model unprocessed, or processed"
                    + " exactly as an SAE's cfg.json asks (model_from_pretrained_kwargs, e.g. fold_ln).",
            ""
        },
        commandListHeading = "%nCommands:%n",
        subcommands = {SaeRunCommand.class, SaeEvalsCommand.class, SaeFeaturesCommand.class, SaeTrainCommand.class,
            SaeReleasesCommand.class, CommandLine.HelpCommand.class})
public final class SaeCommand implements Runnable {
    @Spec
    CommandSpec spec;

    /** Without a subcommand: say which ones exist (usage error, exit code 2). */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(),
                "Missing an sae command: pick run, evals, features, train or releases.");
    }
}
