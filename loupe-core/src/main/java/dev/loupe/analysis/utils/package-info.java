/**
 * TransformerLens's small language-modelling utilities: {@link dev.loupe.analysis.utils.LmUtils}
 * ({@code lm_accuracy} on logits) and {@link dev.loupe.analysis.utils.PromptTest}
 * ({@code test_prompt}: how the model ranks an answer to a prompt, token by token, returned as a
 * result whose {@code format()} is TransformerLens's printout).
 *
 * <p>Floor "uses of the model": it may use everything in loupe-core up to and including
 * {@code dev.loupe.model}, not the other packages of its floor. The loss itself is the model's
 * ({@code dev.loupe.model.Losses}); sampling is {@code dev.loupe.generate.Sampling}.
 */
package dev.loupe.analysis.utils;
