/**
 * Evaluating lenses as the tuned-lens library's {@code eval} does:
 * {@link dev.loupe.lens.eval.LensEvaluator} computes, per layer, the cross-entropy against the
 * next token, the entropy and KL(final ‖ lens) of the logit lens and a tuned lens, as
 * {@link dev.loupe.lens.eval.LensMetrics} in bits per byte; {@link dev.loupe.lens.eval.LensEvalOptions}
 * holds the library's defaults.
 *
 * <p>Floor "lens training and evaluation": it may use {@code dev.loupe.lens},
 * {@code dev.loupe.lens.data} and all of loupe-core, not {@code dev.loupe.lens.train} beside it.
 * Per-position statistics of one run belong in {@code dev.loupe.lens} ({@code LensStats}); only the
 * evaluation over a corpus belongs here.
 */
package dev.loupe.lens.eval;
