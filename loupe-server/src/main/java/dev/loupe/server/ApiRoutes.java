package dev.loupe.server;

import dev.loupe.LoupeException;
import dev.loupe.server.explore.AttentionView;
import dev.loupe.server.explore.AttributionView;
import dev.loupe.server.explore.GenerationStream;
import dev.loupe.server.explore.Intervention;
import dev.loupe.server.explore.InterventionView;
import dev.loupe.server.explore.Limits;
import dev.loupe.server.explore.PatchingView;
import dev.loupe.server.explore.Prompt;
import dev.loupe.server.explore.RunView;
import dev.loupe.server.explore.ServedModel;
import dev.loupe.server.explore.TokenView;
import dev.loupe.server.explore.TrajectoryView;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON API's POST routes under {@code /api/v1/}: each reads its request record, finds the model,
 * checks the prompt against the limits and calls one view of {@code dev.loupe.server.explore}.
 */
final class ApiRoutes {
    /** The routes that run the model (each takes a turn of the run queue); {@code generate} streams. */
    static final Set<String> POST = Set.of("tokenize", "run", "trajectory", "attention", "intervene", "patch",
            "patch/cell", "attribution", "generate");

    private final Map<String, ServedModel> models;
    private final Limits limits;

    ApiRoutes(List<ServedModel> served, Limits limits) {
        if (served.isEmpty()) {
            throw new LoupeException("The server needs at least one model to serve");
        }
        Map<String, ServedModel> byName = new LinkedHashMap<>();
        for (ServedModel m : served) {
            if (byName.put(m.name(), m) != null) {
                throw new LoupeException("Two models are named " + m.name() + "; serve folders of different names");
            }
        }
        this.models = byName;
        this.limits = limits;
    }

    /** {@code GET /api/v1/models}. */
    Object models() {
        return Map.of("models", models.values().stream().map(ServedModel::info).toList(), "limits", limits);
    }

    /** Answers {@code route} (one of {@link #POST} but {@code generate}) for {@code body}. */
    Object answer(String route, byte[] body) {
        return switch (route) {
            case "tokenize" -> {
                var r = JsonBodies.read(body, TokenView.Request.class);
                ServedModel m = model(r.model());
                yield TokenView.of(m, ids(m, r.prompt()));
            }
            case "run" -> {
                var r = JsonBodies.read(body, RunView.Request.class);
                ServedModel m = model(r.model());
                long[] ids = ids(m, r.prompt());
                var hooks = Intervention.hooks(r.interventions(), m, ids.length, limits);
                int k = limits.topK(r.topK());
                yield m.shared(() -> RunView.compute(m, ids, k, hooks));
            }
            case "trajectory" -> {
                var r = JsonBodies.read(body, TrajectoryView.Request.class);
                ServedModel m = model(r.model());
                long[] ids = ids(m, r.prompt());
                var hooks = Intervention.hooks(r.interventions(), m, ids.length, limits);
                int k = limits.topK(r.topK());
                yield m.shared(() -> TrajectoryView.compute(m, ids, k, r.target(), hooks));
            }
            case "attention" -> {
                var r = JsonBodies.read(body, AttentionView.Request.class);
                ServedModel m = model(r.model());
                long[] ids = ids(m, r.prompt());
                var hooks = Intervention.hooks(r.interventions(), m, ids.length, limits);
                yield m.shared(() -> AttentionView.compute(m, ids, hooks));
            }
            case "intervene" -> {
                var r = JsonBodies.read(body, InterventionView.Request.class);
                ServedModel m = model(r.model());
                long[] ids = ids(m, r.prompt());
                int k = limits.topK(r.topK());
                yield m.shared(() -> InterventionView.compute(m, ids, k, r.interventions(), limits));
            }
            case "patch" -> {
                var r = JsonBodies.read(body, PatchingView.Request.class);
                ServedModel m = model(r.model());
                yield m.shared(() -> PatchingView.compute(m, r, limits));
            }
            case "patch/cell" -> {
                var r = JsonBodies.read(body, PatchingView.Cell.Request.class);
                ServedModel m = model(r.model());
                yield m.shared(() -> PatchingView.cell(m, r, limits));
            }
            case "attribution" -> {
                var r = JsonBodies.read(body, AttributionView.Request.class);
                ServedModel m = model(r.model());
                long[] ids = ids(m, r.prompt());
                var hooks = Intervention.hooks(r.interventions(), m, ids.length, limits);
                yield m.shared(() -> AttributionView.compute(m, ids, r.answer(), r.wrong(), r.position(), hooks));
            }
            default -> throw new ApiException(404, "No route /api/v1/" + route);
        };
    }

    /**
     * A checked generation request.
     *
     * @param model the model
     * @param ids the prompt [pos]
     * @param maxNewTokens how many tokens to add
     * @param request the request, for its interventions
     */
    record Generation(ServedModel model, long[] ids, int maxNewTokens, GenerationStream.Request request) {
        /** Runs it, telling {@code sink} of each token. */
        long[] run(Limits limits, GenerationStream.Sink sink) {
            var hooks = Intervention.hooks(request.interventions(), model, ids.length, limits);
            return GenerationStream.run(model, ids, maxNewTokens, hooks, sink);
        }
    }

    /** Reads and checks a generation request before anything is streamed. */
    Generation generation(byte[] body) {
        var r = JsonBodies.read(body, GenerationStream.Request.class);
        ServedModel m = model(r.model());
        long[] ids = ids(m, r.prompt());
        int n = r.maxNewTokens() == null ? 16 : r.maxNewTokens();
        if (n < 1 || n > limits.maxNewTokens()) {
            throw new LoupeException("maxNewTokens must be 1.." + limits.maxNewTokens() + ", got " + n);
        }
        if (ids.length + n > m.model().config().nCtx()) {
            throw new LoupeException("The prompt's " + ids.length + " tokens and maxNewTokens " + n + " exceed the"
                    + " model's context of " + m.model().config().nCtx() + "; at most "
                    + (m.model().config().nCtx() - ids.length) + " new tokens fit");
        }
        Intervention.hooks(r.interventions(), m, ids.length, limits);
        return new Generation(m, ids, n, r);
    }

    Limits limits() {
        return limits;
    }

    private ServedModel model(String name) {
        if (name == null) {
            return models.values().iterator().next();
        }
        ServedModel m = models.get(name);
        if (m == null) {
            throw new ApiException(404, "No model named '" + name + "'; this server serves " + models.keySet());
        }
        return m;
    }

    private long[] ids(ServedModel m, Prompt prompt) {
        if (prompt == null) {
            throw new LoupeException("The request needs \"prompt\": {\"text\": \"...\"} or {\"tokens\": [ids]}");
        }
        return prompt.ids(m, limits, "prompt");
    }
}
