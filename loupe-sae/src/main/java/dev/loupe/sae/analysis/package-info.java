/**
 * What an SAE says about a model's run, as SAELens's tutorials compute it: {@link dev.loupe.sae.analysis.FeatureActivations}
 * (the features of a prompt), {@link dev.loupe.sae.analysis.TopFeature} (the strongest features at a position),
 * {@link dev.loupe.sae.analysis.FeatureAttribution} (gradient × activation of a metric of the logits) and
 * {@link dev.loupe.sae.analysis.FeatureLogits} (a feature's direct effect on the logits, W_dec[f]·W_U).
 *
 * <p>Floor above {@code dev.loupe.sae.splice} (the analyses run the model with SAEs spliced in), below
 * {@code dev.loupe.sae.eval}.
 */
package dev.loupe.sae.analysis;
