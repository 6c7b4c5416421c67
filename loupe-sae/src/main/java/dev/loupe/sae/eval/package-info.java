/**
 * Evaluating an SAE on a model, as SAELens's {@code run_evals} does: {@link dev.loupe.sae.eval.SaeEvaluation}
 * (sparsity, reconstruction quality, shrinkage, and the loss and KL divergence of the model with the SAE spliced
 * in or its activation zeroed).
 *
 * <p>Top floor of loupe-sae, above {@code dev.loupe.sae.splice}: the model runs with the SAE spliced in.
 */
package dev.loupe.sae.eval;
