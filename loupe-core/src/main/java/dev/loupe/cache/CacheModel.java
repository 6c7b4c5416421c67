package dev.loupe.cache;

import ai.djl.ndarray.NDArray;
import dev.loupe.config.TransformerConfig;
import java.util.Map;

/** What a cache's analyses need from the model that made it. */
public interface CacheModel {

    /** The model's config. */
    TransformerConfig config();

    /** The model's parameters by TransformerLens name. */
    Map<String, NDArray> stateDict();

    /** The model's final norm (with its weights, if any) applied to {@code x} [..., d_model]. */
    NDArray applyFinalNorm(NDArray x);
}
