/**
 * Sparse autoencoders and transcoders with SAELens's semantics: {@link dev.loupe.sae.Sae} (the weights of
 * one SAE of any supported architecture, encode and decode, SAELens's folder format through
 * {@code dev.loupe.sae.format}) and {@link dev.loupe.sae.SaeHooks} (the SAE's own hook points,
 * {@code hook_sae_input} … {@code hook_sae_output}, as a computation fires them).
 *
 * <p>Floor above {@code dev.loupe.sae.format}, below {@code dev.loupe.sae.splice}: it computes on
 * activations it is given and never runs a model; putting an SAE into a model's forward pass is
 * {@code dev.loupe.sae.splice}.
 */
package dev.loupe.sae;
