/**
 * SAELens's released SAEs by name: the release table ({@link dev.loupe.sae.pretrained.SaeReleases}, SAELens's
 * {@code pretrained_saes.yaml} for the releases whose files Loupe reads), and fetching one SAE of a release
 * from the Hugging Face Hub, or from its cache, into config and tensors ({@link dev.loupe.sae.pretrained.PretrainedSaes}).
 *
 * <p>Floor above {@code dev.loupe.sae.format}, whose readers it chooses by the release's format, and below
 * {@code dev.loupe.sae}, whose {@code Sae.fromPretrained} it serves. It uses loupe-core's Hub client and never
 * the SAE math.
 */
package dev.loupe.sae.pretrained;
