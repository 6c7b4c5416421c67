package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import dev.loupe.config.TransformerConfig;
import java.util.List;

/** A block's MLP: plain ({@link Mlp}), gated ({@link GatedMlp}) or a mixture of gated experts ({@link MixtureOfExperts}). */
public sealed interface FeedForward permits Mlp, GatedMlp, MixtureOfExperts {

    /** x [batch, pos, d_model] → [batch, pos, d_model]. */
    NDArray forward(NDArray x);

    /**
     * The parameters a forward pass widens for the whole layer when they are float16; matrices widened one product
     * at a time ({@link Weight#matMul}) are left out.
     */
    List<Weight> weights();

    /** The MLP {@code cfg} asks for, called {@code name} ({@code blocks.0.mlp}). */
    static FeedForward create(String name, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        if (cfg.mixtureOfExperts()) {
            return new MixtureOfExperts(name, cfg, params, hooks);
        }
        return cfg.gatedMlp() ? new GatedMlp(name, cfg, params, hooks) : new Mlp(name, cfg, params, hooks);
    }
}
