package dev.loupe.sae.analysis;

/**
 * One token of a feature's direct effect on the logits.
 *
 * @param token the token id
 * @param str the token as a string, or null when the model has no tokenizer
 * @param logit the feature direction's logit for it (per unit of activation)
 */
public record TokenLogit(long token, String str, float logit) {}
