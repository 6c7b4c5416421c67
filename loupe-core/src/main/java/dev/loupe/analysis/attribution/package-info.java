/**
 * Attribution patching: {@link dev.loupe.analysis.attribution.AttributionPatching} estimates every
 * activation patch at once to first order, {@code (clean − corrupted) · d(metric)/d(activation)},
 * from one forward and backward pass on the corrupted input and one forward pass on the clean one.
 *
 * <p>Floor "uses of the model": it may use everything in loupe-core up to and including
 * {@code dev.loupe.model}, not the other packages of its floor. Exact activation patching (one
 * patched run per index) is {@code dev.loupe.analysis.patching}; gradients at hook points are
 * computed by the model's run ({@code runWithCache} with gradients).
 */
package dev.loupe.analysis.attribution;
