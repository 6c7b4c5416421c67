/**
 * Activation patching, as TransformerLens's {@code transformer_lens.patching}:
 * {@link dev.loupe.analysis.patching.Patching} runs the model on corrupted tokens with one slice of
 * one activation taken from the clean run, and measures a
 * {@link dev.loupe.analysis.patching.PatchMetric}, once per index of a sweep over
 * {@link dev.loupe.analysis.patching.Axis} values (layers, positions, heads); every
 * {@code get_act_patch_*} family is a {@link dev.loupe.analysis.patching.PatchFamily} (results such
 * as [n_layers, pos] or [n_layers, n_heads]), and {@link dev.loupe.analysis.patching.PatchSetters}
 * holds TransformerLens's setters. Sweeps are batched and start at the patched layer unless
 * {@link dev.loupe.analysis.patching.PatchOptions} asks for TransformerLens's naive loop.
 *
 * <p>Floor "uses of the model": it may use everything in loupe-core up to and including
 * {@code dev.loupe.model}, not the other packages of its floor. The first-order estimate of every
 * patch is {@code dev.loupe.analysis.attribution}; drawing a patching result is loupe-viz.
 */
package dev.loupe.analysis.patching;
