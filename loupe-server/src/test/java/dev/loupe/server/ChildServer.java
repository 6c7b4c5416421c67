package dev.loupe.server;

import dev.loupe.server.explore.ServedModel;
import java.nio.file.Path;
import java.util.List;

/**
 * A server in a JVM of its own, for {@link LoadTest}'s memory measurement: it serves the model folder
 * given as its argument on a free loopback port, prints {@code port N}, and stops when its standard
 * input closes.
 */
final class ChildServer {
    private ChildServer() {}

    public static void main(String[] args) throws Exception {
        try (ServedModel model = ServedModel.load(Path.of(args[0]), null);
                LoupeServer server = LoupeServer.start(List.of(model), ServerOptions.loopback(0))) {
            System.out.println("port " + server.port());
            System.out.flush();
            while (System.in.read() >= 0) {
                // Runs until the parent closes our input (or dies).
            }
        }
    }
}
