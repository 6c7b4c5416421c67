package dev.loupe.lens;

import dev.loupe.config.TransformerConfig;

/** Whether a tuned lens fits a model, with a message that names the mismatch and the fix. */
final class LensCompatibility {
    private LensCompatibility() {}

    /** Throws {@link LensMismatchException} unless the lens {@code config} fits the model behind {@code unembedding}. */
    static void check(TunedLensConfig config, Unembedding unembedding, String source) {
        TransformerConfig model = unembedding.config();
        LensBasis modelBasis = unembedding.basis();
        if (!config.basis().equals(modelBasis)) {
            String fix = config.basis().isHuggingFace()
                    ? " Load the model without processing: HookedTransformer.fromPretrainedNoProcessing(dir)"
                            + " (the `loupe lens` commands do)."
                    : " Load the model with the same processing (" + config.basis().stepNames()
                            + ").";
            throw new LensMismatchException("The tuned lens " + source + " was trained on a residual stream that is "
                    + config.basis().describe() + (config.basis().isHuggingFace() && config.unembedFingerprint() == null
                            ? ", as every lens of the Python tuned-lens library is," : "")
                    + " but the model '" + model.modelName() + "' is " + modelBasis.describe()
                    + ". Processing changes the basis of the residual and the logits (centring, folding the final"
                    + " norm into W_U), so the translators would not mean the same thing." + fix);
        }
        if (config.dModel() != model.dModel()) {
            throw new LensMismatchException("The tuned lens " + source + " has d_model " + config.dModel()
                    + " but the model '" + model.modelName() + "' has d_model " + model.dModel() + ": it was trained on "
                    + describeBase(config) + ", not on this model. Use the lens made for this model.");
        }
        if (config.numHiddenLayers() != model.nLayers()) {
            throw new LensMismatchException("The tuned lens " + source + " has " + config.numHiddenLayers()
                    + " translators but the model '" + model.modelName() + "' has " + model.nLayers() + " layers: it was"
                    + " trained on " + describeBase(config) + ", not on this model. Use the lens made for this model.");
        }
        if (config.unembedFingerprint() != null && !config.unembedFingerprint().equals(unembedding.fingerprint())) {
            throw new LensMismatchException("The tuned lens " + source + " was trained with another unembedding:"
                    + " its unembed_fingerprint is " + config.unembedFingerprint() + " but the model '" + model.modelName()
                    + "' has " + unembedding.fingerprint() + " (SHA-256 of W_U). It was trained on " + describeBase(config)
                    + "; use the lens made for this model's weights.");
        }
        config.hook().checkSupported(model);
    }

    private static String describeBase(TunedLensConfig config) {
        return config.baseModelNameOrPath() == null ? "another model" : "'" + config.baseModelNameOrPath() + "'";
    }
}
