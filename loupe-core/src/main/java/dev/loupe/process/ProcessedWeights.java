package dev.loupe.process;

import ai.djl.ndarray.NDArray;
import dev.loupe.config.TransformerConfig;
import java.util.Map;

/**
 * A state dict and the config that goes with it, as processing steps take and return them.
 *
 * @param stateDict TransformerLens name to tensor
 * @param config the config (folding turns LN into LNPre, RMS into RMSPre)
 */
public record ProcessedWeights(Map<String, NDArray> stateDict, TransformerConfig config) {}
