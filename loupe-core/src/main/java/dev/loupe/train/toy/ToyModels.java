package dev.loupe.train.toy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.adapters.NativeFormat;
import dev.loupe.train.TrainingRandom;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Attention-only transformers as TransformerLens's toy models have them, and their initial weights (which
 * {@link #initialParameters} also draws for models with MLPs).
 */
public final class ToyModels {
    private ToyModels() {}

    /** An attention-only model with LayerNorm (TransformerLens's {@code attn_only}), rotary or learned positions. */
    public static TransformerConfig config(ToyTrainingOptions o) {
        return TransformerConfig.builder().nLayers(o.nLayers()).dModel(o.dModel()).nHeads(o.nHeads())
                .dHead(o.dModel() / o.nHeads()).nCtx(o.nCtx()).dVocab(o.dVocab()).attnOnly(true)
                .normalizationType(NormalizationType.LN).positionalEmbeddingType(o.positionalEmbeddingType())
                .defaultPrependBos(true)
                .modelName(o.modelName()).build();
    }

    /**
     * Initial parameters as TransformerLens's {@code init_weights_gpt2}: every weight matrix from
     * N(0, (0.8 / sqrt(d_model))²), biases zero, LayerNorm weights one. Drawn from {@code random}, so
     * a seed fixes them on every machine. Each is a leaf that requires a gradient.
     */
    public static Map<String, NDArray> initialParameters(TransformerConfig cfg, TrainingRandom random,
            NDManager manager) {
        double std = 0.8 / Math.sqrt(cfg.dModel());
        int d = cfg.dModel();
        int h = cfg.nHeads();
        int dh = cfg.dHead();
        Map<String, NDArray> params = new LinkedHashMap<>();
        for (String name : NativeFormat.parameterNames(cfg)) {
            String leaf = name.substring(name.lastIndexOf('.') + 1);
            Shape shape = switch (leaf) {
                case "W_E" -> new Shape(cfg.dVocab(), d);
                case "W_pos" -> new Shape(cfg.nCtx(), d);
                case "W_Q", "W_K", "W_V" -> new Shape(h, d, dh);
                case "W_O" -> new Shape(h, dh, d);
                case "b_Q", "b_K", "b_V" -> new Shape(h, dh);
                case "W_U" -> new Shape(d, cfg.dVocabOut());
                case "W_in" -> new Shape(d, cfg.dMlp());
                case "W_out" -> new Shape(cfg.dMlp(), d);
                case "b_in" -> new Shape(cfg.dMlp());
                case "b_out" -> new Shape(d);
                case "b_U" -> new Shape(cfg.dVocabOut());
                case "w", "b", "b_O" -> new Shape(d);
                default -> throw new IllegalStateException("No initial value for " + name);
            };
            NDArray value;
            if (leaf.startsWith("W_")) {
                value = manager.create(random.normal((int) shape.size(), std), shape);
            } else if (leaf.equals("w")) {
                value = manager.ones(shape);
            } else {
                value = manager.zeros(shape);
            }
            value.setRequiresGradient(true);
            params.put(name, value);
        }
        return params;
    }
}
