package dev.loupe.spark.harvest;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The hooks a harvest keeps, found by one tiny forward pass on the driver (the row layout must be known before any
 * task runs): every hook point whose whole name matches, in the order the model fires them, each with one value per
 * token. A hook without one ({@code hook_pattern} read by query position has one; a mixture of experts' per-expert
 * rows have not) is refused by name.
 */
final class HookProbe {
    private HookProbe() {}

    /** The names of {@code model}'s hooks matching {@code regex}, in firing order. */
    static List<String> names(HookedTransformer model, String regex) {
        List<String> names = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager();
                ActivationCache cache = model.runWithCache(manager.create(new long[] {0, 0}, new Shape(1, 2)),
                        CacheOptions.matching(regex))) {
            for (Map.Entry<String, NDArray> entry : cache.asMap().entrySet()) {
                long[] shape = TokenActivations.byToken(entry.getKey(), entry.getValue()).getShape().getShape();
                if (shape.length >= 2 && shape[0] == 1 && shape[1] == 2) {
                    names.add(entry.getKey());
                } else {
                    refused.add(entry.getKey());
                }
            }
        }
        if (!refused.isEmpty()) {
            throw new LoupeException("The hooks " + refused + " have no value per token, so a harvest cannot keep them;"
                    + " choose others with --hooks (`loupe hooks --model ...` lists the shapes)");
        }
        if (names.isEmpty()) {
            throw new LoupeException("No hook point of the model matches --hooks '" + regex + "'; `loupe hooks --model"
                    + " ...` lists the names (e.g. 'blocks\\.0\\.hook_resid_post')");
        }
        return names;
    }
}
