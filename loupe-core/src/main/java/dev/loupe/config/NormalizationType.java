package dev.loupe.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * TransformerLens's {@code normalization_type}: the norm before attention ({@code ln1}), before the
 * MLP ({@code ln2}) and at the end ({@code ln_final}, an RMSNorm instead when {@code final_rms} is set).
 * As JSON each constant is TransformerLens's string ({@link #jsonName()}); TransformerLens writes
 * {@link #NONE} as {@code null}, which {@link TransformerConfig} reads as {@code NONE} too.
 */
public enum NormalizationType {
    /** LayerNorm with its weight and bias: {@code "LN"}. */
    LN("LN"),
    /** LayerNorm whose weight and bias were folded into the next layer (centre and scale only): {@code "LNPre"}. */
    LN_PRE("LNPre"),
    /** RMSNorm with its weight: {@code "RMS"}. */
    RMS("RMS"),
    /** RMSNorm whose weight was folded into the next layer (scale only): {@code "RMSPre"}. */
    RMS_PRE("RMSPre"),
    /** No normalisation: TransformerLens's {@code None}, written {@code "None"}. */
    NONE("None");

    private final String jsonName;

    NormalizationType(String jsonName) {
        this.jsonName = jsonName;
    }

    /** TransformerLens's name for it ({@code "LN"}, {@code "LNPre"}, {@code "RMS"}, {@code "RMSPre"}, {@code "None"}). */
    @JsonValue
    public String jsonName() {
        return jsonName;
    }

    /** The type TransformerLens calls {@code name}; refuses any other name, listing the valid ones. */
    @JsonCreator
    public static NormalizationType fromJson(String name) {
        return JsonNames.parse("normalization_type", name, values(), NormalizationType::jsonName);
    }

    /** Whether it centres its input (a LayerNorm, with or without weights). */
    public boolean isLayerNorm() {
        return switch (this) {
            case LN, LN_PRE -> true;
            case RMS, RMS_PRE, NONE -> false;
        };
    }

    /** Whether it has weights ({@code w}, and {@code b} for LayerNorm) of its own. */
    public boolean hasWeights() {
        return switch (this) {
            case LN, RMS -> true;
            case LN_PRE, RMS_PRE, NONE -> false;
        };
    }

    /** The same norm with its weights folded into the next layer: {@code LN → LNPre}, {@code RMS → RMSPre}. */
    public NormalizationType withoutWeights() {
        return switch (this) {
            case LN, LN_PRE -> LN_PRE;
            case RMS, RMS_PRE -> RMS_PRE;
            case NONE -> NONE;
        };
    }

    /** The same norm with weights of its own: {@code LNPre → LN}, {@code RMSPre → RMS}. */
    public NormalizationType withWeights() {
        return switch (this) {
            case LN, LN_PRE -> LN;
            case RMS, RMS_PRE -> RMS;
            case NONE -> NONE;
        };
    }

    @Override
    public String toString() {
        return jsonName;
    }
}
