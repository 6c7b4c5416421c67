/**
 * What each feature of an SAE does over a corpus, the data of feature dashboards:
 * {@link dev.loupe.sae.features.FeatureHarvest} runs the SAE spliced into a model over token sequences and keeps,
 * per feature, its density, an activation histogram and its top-activating contexts
 * ({@link dev.loupe.sae.features.FeatureActivity}, streamed through a
 * {@link dev.loupe.sae.features.FeatureCollector}); the tokens its decoder direction promotes and suppresses
 * (W_dec[f]·W_U) are {@link dev.loupe.sae.analysis.FeatureLogits#topTokens}'s. Drawing them is loupe-viz's.
 *
 * <p>Floor above {@code dev.loupe.sae.splice}: the model runs with the SAE spliced in.
 */
package dev.loupe.sae.features;
