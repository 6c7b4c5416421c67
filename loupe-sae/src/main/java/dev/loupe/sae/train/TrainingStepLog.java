package dev.loupe.sae.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One optimizer step of a run, as SAELens logs it (its names in {@link #asMap}): the loss and its terms on
 * the step's batch before the update, the feature count per token, and the dead features after the step.
 *
 * @param step 0-based
 * @param sparsityLoss {@code l1_loss} (standard), {@code auxiliary_reconstruction_loss} (topk) or
 *     {@code l0_loss} (jumprelu)
 * @param mseLoss mean over tokens of Σ_d (x̂ − x)²
 * @param lr the learning rate the update used
 */
public record TrainingStepLog(long step, float loss, float mseLoss, float sparsityLoss, float l0,
        float explainedVariance, int deadFeatures, double lr) {

    /** The entry by SAELens's names; {@code sparsityName} names the sparsity term. */
    public Map<String, Object> asMap(String sparsityName) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("loss", loss);
        m.put("mse_loss", mseLoss);
        m.put(sparsityName, sparsityLoss);
        m.put("l0", l0);
        m.put("explained_variance", explainedVariance);
        m.put("dead_features", deadFeatures);
        m.put("lr", lr);
        return m;
    }
}
