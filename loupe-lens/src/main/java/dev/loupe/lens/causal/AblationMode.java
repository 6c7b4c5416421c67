package dev.loupe.lens.causal;

import dev.loupe.LoupeException;
import java.util.Locale;

/** What a removed subspace is replaced with (the tuned-lens library's {@code remove_subspace} modes). */
public enum AblationMode {
    /** The component in the subspace becomes 0: {@code u − P u}. */
    ZERO,
    /** The component in the subspace becomes its mean over every vector of the batch: {@code u + P (mean(u) − u)}. */
    MEAN;

    /** Parses {@code zero} / {@code mean}. */
    public static AblationMode fromKey(String key) {
        for (AblationMode mode : values()) {
            if (mode.name().equals(key.toUpperCase(Locale.ROOT))) {
                return mode;
            }
        }
        throw new LoupeException("Unknown ablation mode '" + key + "'; use zero or mean");
    }

    /** The library's name: {@code zero} or {@code mean}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
