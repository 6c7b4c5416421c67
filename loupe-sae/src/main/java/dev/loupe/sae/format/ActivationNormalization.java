package dev.loupe.sae.format;

import dev.loupe.CheckpointException;
import java.util.Arrays;

/**
 * SAELens's {@code normalize_activations}: how an SAE scales its input (per token, over the last
 * dimension) and undoes it on its output.
 */
public enum ActivationNormalization {
    /** {@code none}: identity. */
    NONE("none"),
    /** {@code constant_norm_rescale}: in x·c with c = √d_in / ‖x‖₂, out y / c (the same token's c). */
    CONSTANT_NORM_RESCALE("constant_norm_rescale"),
    /** {@code layer_norm}: in (x − μ)/(σ + 1e-5) with σ the unbiased std, out y·σ + μ. */
    LAYER_NORM("layer_norm"),
    /**
     * {@code expected_average_only_in}: a training-time scale that SAELens folds into the weights; at
     * inference, identity (as SAELens).
     */
    EXPECTED_AVERAGE_ONLY_IN("expected_average_only_in");

    private final String jsonName;

    ActivationNormalization(String jsonName) {
        this.jsonName = jsonName;
    }

    /** SAELens's name. */
    public String jsonName() {
        return jsonName;
    }

    /**
     * The normalisation SAELens calls {@code name}.
     *
     * @throws CheckpointException for any other name, listing the valid ones
     */
    public static ActivationNormalization fromJson(String name, String where) {
        for (ActivationNormalization n : values()) {
            if (n.jsonName.equals(name)) {
                return n;
            }
        }
        throw new CheckpointException(where + ": normalize_activations \"" + name + "\" is not one of "
                + Arrays.stream(values()).map(ActivationNormalization::jsonName).toList());
    }
}
