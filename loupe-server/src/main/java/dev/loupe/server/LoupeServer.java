package dev.loupe.server;

import dev.loupe.LoupeException;
import dev.loupe.server.explore.ServedModel;
import java.net.URI;
import java.util.List;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The explorer's server: {@code start} binds and serves until {@code close}.
 *
 * <pre>{@code
 * try (ServedModel model = ServedModel.load(Path.of("models/induction-2l"), null);
 *      LoupeServer server = LoupeServer.start(List.of(model), ServerOptions.loopback(8080))) {
 *     System.out.println(server.url());
 *     server.join();
 * }
 * }</pre>
 */
public final class LoupeServer implements AutoCloseable {
    private final Server jetty;
    private final ServerConnector connector;
    private final ServerOptions options;
    private final RunQueue runs;
    private final ExplorerHandler handler;

    private LoupeServer(Server jetty, ServerConnector connector, ServerOptions options, RunQueue runs,
            ExplorerHandler handler) {
        this.jetty = jetty;
        this.connector = connector;
        this.options = options;
        this.runs = runs;
        this.handler = handler;
    }

    /** Serves {@code models} (the first is the default) with {@code options}. The models stay the caller's to close. */
    public static LoupeServer start(List<ServedModel> models, ServerOptions options) {
        QueuedThreadPool threads = new QueuedThreadPool(Math.max(16, 4 * (options.concurrentRuns()
                + options.queuedRuns())), 4);
        threads.setName("loupe-server");
        threads.setDaemon(true);
        Server jetty = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);
        ServerConnector connector = new ServerConnector(jetty, new HttpConnectionFactory(http));
        connector.setHost(options.host());
        connector.setPort(options.port());
        connector.setIdleTimeout(30_000);
        jetty.addConnector(connector);
        RunQueue runs = new RunQueue(options.concurrentRuns(), options.queuedRuns());
        ExplorerHandler handler = new ExplorerHandler(new ApiRoutes(models, options.limits()), PageAssets.load(), runs,
                options.token(), options.maxBodyBytes());
        jetty.setHandler(handler);
        jetty.setErrorHandler(new JsonErrorHandler());
        jetty.setStopTimeout(2_000);
        try {
            jetty.start();
        } catch (Exception e) {
            runs.close();
            try {
                jetty.stop();
            } catch (Exception ignored) {
                // Already failing: the start's error is the one to report.
            }
            throw new LoupeException("The server could not listen on " + options.host() + ":" + options.port() + ": "
                    + e.getMessage() + " (is the port taken? --port 0 picks a free one)", e);
        }
        return new LoupeServer(jetty, connector, options, runs, handler);
    }

    /** The port it listens on. */
    public int port() {
        return connector.getLocalPort();
    }

    /** The page's address, with the access token when there is one. */
    public URI url() {
        String host = options.host().contains(":") && !options.host().startsWith("[") ? "[" + options.host() + "]"
                : options.host();
        return URI.create("http://" + host + ":" + port() + "/" + (options.token() == null ? ""
                : "?token=" + options.token()));
    }

    /** How many runs are running or queued now. */
    public int runsAdmitted() {
        return runs.admitted();
    }

    /** How many generations stopped early because their client went away (each freed its turn). */
    public long abandonedGenerations() {
        return handler.abandonedGenerations();
    }

    /** Waits until the server stops. */
    public void join() throws InterruptedException {
        jetty.join();
    }

    @Override
    public void close() {
        try {
            jetty.stop();
        } catch (Exception e) {
            throw new LoupeException("The server did not stop cleanly: " + e.getMessage(), e);
        } finally {
            runs.close();
        }
    }
}
