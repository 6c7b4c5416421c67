package dev.loupe.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * TransformerLens's {@code positional_embedding_type}: how positions enter the model. As JSON each
 * constant is TransformerLens's string ({@link #jsonName()}).
 */
public enum PositionalEmbeddingType {
    /**
     * Learned absolute positions ({@code pos_embed.W_pos}, {@code hook_pos_embed}) added to the embedding:
     * {@code "standard"}.
     */
    STANDARD("standard"),
    /** Rotary embeddings rotating queries and keys ({@code hook_rot_q}, {@code hook_rot_k}): {@code "rotary"}. */
    ROTARY("rotary"),
    /** ALiBi: a per-head linear bias on the attention scores (BLOOM): {@code "alibi"}. */
    ALIBI("alibi");

    private final String jsonName;

    PositionalEmbeddingType(String jsonName) {
        this.jsonName = jsonName;
    }

    /** TransformerLens's name for it ({@code "standard"}, {@code "rotary"}, {@code "alibi"}). */
    @JsonValue
    public String jsonName() {
        return jsonName;
    }

    /** The type TransformerLens calls {@code name}; refuses any other name, listing the valid ones. */
    @JsonCreator
    public static PositionalEmbeddingType fromJson(String name) {
        return JsonNames.parse("positional_embedding_type", name, values(), PositionalEmbeddingType::jsonName);
    }

    @Override
    public String toString() {
        return jsonName;
    }
}
