package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.hub.HubClient;
import dev.loupe.hub.ModelRegistry;
import dev.loupe.hub.ModelResolver;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loupe download}: fetch a model from the Hugging Face Hub into the cache shared with Python. */
@Command(
        name = "download",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Download a model from the Hugging Face Hub into the cache shared with Python; print its folder.",
        description = {
            "",
            "MODEL is a TransformerLens name or alias (gpt2, gpt2-small, pythia-70m) or any Hugging Face repository"
                    + " id (org/name). Downloads config.json, generation_config.json, the tokenizer files and the"
                    + " weights (model.safetensors, sharded safetensors through their index, else pytorch_model.bin)"
                    + " of one commit, and prints the snapshot folder: a model folder every --model option takes.",
            "",
            "Files go where Python's huggingface_hub puts them (models--org--name/blobs, snapshots, refs), so a model"
                    + " either downloaded is found by the other. Interrupted downloads resume; LFS files are checked"
                    + " against their sha256. The environment is read as huggingface_hub reads it: HF_ENDPOINT,"
                    + " HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE (1: use the cache only), HF_TOKEN (gated and private"
                    + " models). A Java system property of the same name (-DHF_ENDPOINT=...) wins over the variable.",
            ""
        },
        footer = {
            "",
            "Examples:",
            "  loupe download gpt2-small",
            "  loupe download EleutherAI/pythia-70m --revision step3000",
            "  loupe cache --model \"$(loupe download gpt2)\" --prompt 'Hello' \\",
            "    --out gpt2.safetensors"
        })
public final class DownloadCommand extends LoupeCommand {
    @Parameters(index = "0", paramLabel = "MODEL",
            description = "A TransformerLens name or alias, or a Hugging Face repository id (org/name).")
    String model;

    @Option(names = "--revision", paramLabel = "R", defaultValue = ModelResolver.DEFAULT_REVISION,
            description = "A branch, tag or commit hash (default: ${DEFAULT-VALUE}).")
    String revision;

    /** No libtorch here, and downloads resume from their partial files: a signal ends it at once. */
    @Override
    protected boolean stopsAtSafePoints() {
        return false;
    }

    @Override
    protected int execute() {
        HubClient hub = HubClient.fromEnvironment();
        String repoId = new ModelResolver(hub, ModelRegistry.official()).repoId(model);
        Path snapshot = hub.downloadModel(repoId, revision);
        out().println(snapshot.toAbsolutePath());
        out().flush();
        return 0;
    }
}
