package dev.loupe.sae.splice;

import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import dev.loupe.config.WeightProcessingStep;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import java.util.EnumSet;
import java.util.Set;

/**
 * Whether an SAE fits a model. SAELens loads an SAE's model with {@code from_pretrained_no_processing} and
 * the config's {@code model_from_pretrained_kwargs} (so {@code {"fold_ln": true}} asks for folded norms), and
 * an SAE only means something in the basis it was trained in; its widths must match the hook's.
 */
public final class ModelCompatibility {
    private ModelCompatibility() {}

    /**
     * @throws LoupeException if the model's weight processing differs from what the SAE's
     *     {@code model_from_pretrained_kwargs} asks for, or the hook's width is not the SAE's d_in (d_out)
     */
    public static void check(HookedTransformer model, Sae sae) {
        Set<WeightProcessingStep> wanted = wantedProcessing(sae.cfg().modelFromPretrainedKwargs());
        Set<WeightProcessingStep> has = model.config().weightProcessing().isEmpty()
                ? EnumSet.noneOf(WeightProcessingStep.class) : EnumSet.copyOf(model.config().weightProcessing());
        if (!wanted.equals(has)) {
            throw new LoupeException("The SAE at " + sae.hookName() + " was trained on the model loaded with "
                    + "from_pretrained_no_processing and model_from_pretrained_kwargs "
                    + sae.cfg().modelFromPretrainedKwargs() + ", i.e. weight processing " + wanted + ", but this model has "
                    + has + "; load it with " + (wanted.isEmpty() ? "HookedTransformer.fromPretrainedNoProcessing"
                    : "HookedTransformer.fromPretrained(dir, ProcessOptions with exactly " + wanted + ")"));
        }
        checkWidth(model, sae.hookPoint(), sae.cfg().dIn(), sae.cfg().reshapeHookZ(), "d_in");
        if (sae.isTranscoder()) {
            checkWidth(model, sae.cfg().hookNameOut(), sae.cfg().dOut(), false, "d_out");
        }
    }

    /**
     * The processing steps set true in SAELens's kwargs (everything else off, as from_pretrained_no_processing):
     * how a caller that loads the model for an SAE (the CLI) should load it.
     */
    public static Set<WeightProcessingStep> wantedProcessing(ObjectNode kwargs) {
        Set<WeightProcessingStep> wanted = EnumSet.noneOf(WeightProcessingStep.class);
        for (WeightProcessingStep step : WeightProcessingStep.values()) {
            JsonNode value = kwargs.get(step.jsonName());
            if (value != null && value.asBoolean(false)) {
                wanted.add(step);
            }
        }
        return wanted;
    }

    private static void checkWidth(HookedTransformer model, String hook, int width, boolean hookZ, String what) {
        Shape shape = model.hookShapes(1, 1).get(hook);
        if (shape == null) {
            return; // an unknown or silent hook: the splice names it when the run starts
        }
        int rank = shape.dimension();
        long actual = hookZ && rank >= 2 ? shape.get(rank - 2) * shape.get(rank - 1) : shape.get(rank - 1);
        if (actual != width) {
            throw new LoupeException("The SAE's " + what + " is " + width + " but " + hook + " has width " + actual
                    + " (activation " + shape + (hookZ ? ", n_heads·d_head" : "") + ") in this model");
        }
    }
}
