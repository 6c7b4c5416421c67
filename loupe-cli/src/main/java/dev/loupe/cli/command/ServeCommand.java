package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.hub.ModelResolver;
import dev.loupe.server.LoupeServer;
import dev.loupe.server.ServerOptions;
import dev.loupe.server.explore.ServedModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code loupe serve}: the live explorer in the browser and its JSON API. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Explore a model in the browser: predictions, lenses, attention, ablations, patching, generation.",
        description = {
            "",
            "Starts a local web server and prints its address. The page runs the model as you type: tokens with"
                    + " their top predictions and loss, the logit lens and tuned lens trajectories, attention"
                    + " patterns and head scores, click-to-ablate heads, MLPs and residual positions, activation"
                    + " patching maps, direct logit attribution and streamed generation. A script can drive the"
                    + " same JSON API (/api/v1/..., described at /api).",
            "",
            "It binds 127.0.0.1 (this machine only). --host 0.0.0.0 opens it to the network and needs an access"
                    + " token: --token T, or one is made and printed in the URL. Ctrl-C stops it.",
            ""
        },
        footer = {
            "",
            "Example: the shipped induction model, then a text model with its tuned lens.",
            "  loupe serve",
            "  loupe serve --model testdata/models/gpt2-tok --lens testdata/lens --port 8081"
        })
public final class ServeCommand extends LoupeCommand {

    @Option(names = "--model", paramLabel = "M",
            description = "A model to serve: a folder, a TransformerLens name or a Hub id (downloaded into the Hugging"
                    + " Face cache as `loupe download` does); repeat for several (the page picks among them). Default: "
                    + DemoCommand.DEFAULT_MODEL + " in the Loupe repository.")
    List<String> models;

    @Option(names = "--lens", paramLabel = "DIR", description = "A tuned lens of the first --model.")
    Path lens;

    @Option(names = "--port", paramLabel = "P", defaultValue = "8080",
            description = "The port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--host", paramLabel = "H", defaultValue = ServerOptions.LOOPBACK,
            description = "The address to bind. Default: ${DEFAULT-VALUE}; any other needs an access token.")
    String host;

    @Option(names = "--token", paramLabel = "T",
            description = "The access token the API asks for (header 'Authorization: Bearer T', or ?token=T).")
    String token;

    @Override
    protected int execute() {
        ModelResolver resolver = ModelResolver.fromEnvironment();
        List<Path> folders = models == null || models.isEmpty() ? List.of(new DemoCommand.InductionModel().folder())
                : models.stream().map(resolver::resolve).toList();
        String access = token;
        if (access == null && !ServerOptions.isLoopback(host)) {
            access = ServerOptions.randomToken();
        }
        ServerOptions options = ServerOptions.loopback(port).withToken(access).withHost(host);
        List<ServedModel> served = new ArrayList<>();
        try {
            for (int i = 0; i < folders.size(); i++) {
                served.add(ServedModel.load(folders.get(i), i == 0 ? lens : null));
            }
            try (LoupeServer server = LoupeServer.start(served, options)) {
                out().println("loupe: serving " + String.join(", ", served.stream().map(ServedModel::name).toList())
                        + " at " + server.url() + " (Ctrl-C stops)");
                out().flush();
                waitUntilStopped(server);
            }
        } finally {
            served.forEach(ServedModel::close);
        }
        return 0;
    }

    /**
     * Serves until Ctrl-C (the stop signal, checked here) or an interrupt of this thread. The interrupt is
     * consumed, so that the server then stops cleanly (Jetty's stop waits, which an interrupted thread cannot).
     */
    private static void waitUntilStopped(LoupeServer server) {
        try {
            while (!Thread.interrupted()) {
                safePoint("serving at " + server.url());
                Thread.sleep(200);
            }
        } catch (InterruptedException e) {
            // Asked to stop: return, and the server closes.
        }
    }
}
