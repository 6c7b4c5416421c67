package dev.loupe.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * One entry of TransformerLens's {@code attn_types}: whether a layer attends to every earlier position
 * or only to a window of recent ones (with {@code use_local_attn} and {@code window_size}). As JSON
 * each constant is TransformerLens's string ({@link #jsonName()}).
 */
public enum AttentionType {
    /** Attends to every earlier position: {@code "global"}. */
    GLOBAL("global"),
    /** Attends only to the last {@code window_size} positions: {@code "local"}. */
    LOCAL("local");

    private final String jsonName;

    AttentionType(String jsonName) {
        this.jsonName = jsonName;
    }

    /** TransformerLens's name for it ({@code "global"} or {@code "local"}). */
    @JsonValue
    public String jsonName() {
        return jsonName;
    }

    /** The type TransformerLens calls {@code name}; refuses any other name, listing the valid ones. */
    @JsonCreator
    public static AttentionType fromJson(String name) {
        return JsonNames.parse("attn_types", name, values(), AttentionType::jsonName);
    }

    @Override
    public String toString() {
        return jsonName;
    }
}
