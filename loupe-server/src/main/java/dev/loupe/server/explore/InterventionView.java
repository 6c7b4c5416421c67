package dev.loupe.server.explore;

import dev.loupe.LoupeException;
import java.util.List;

/**
 * The clean run and the run with interventions side by side, {@code POST /api/v1/intervene}.
 *
 * @param clean the run without hooks
 * @param intervened the run with the request's ablations
 */
public record InterventionView(RunView clean, RunView intervened) {

    /** The prompt and the ablations (at least one). */
    public record Request(String model, Prompt prompt, Integer topK, List<Intervention> interventions) {}

    /** Runs {@code ids} [pos] clean and with {@code interventions}. */
    public static InterventionView compute(ServedModel served, long[] ids, int topK, List<Intervention> interventions,
            Limits limits) {
        if (interventions == null || interventions.isEmpty()) {
            throw new LoupeException("intervene needs at least one intervention, e.g. {\"kind\": \"zero\","
                    + " \"target\": \"head\", \"layer\": 1, \"head\": 0}");
        }
        var hooks = Intervention.hooks(interventions, served, ids.length, limits);
        return new InterventionView(RunView.compute(served, ids, topK, List.of()),
                RunView.compute(served, ids, topK, hooks));
    }
}
