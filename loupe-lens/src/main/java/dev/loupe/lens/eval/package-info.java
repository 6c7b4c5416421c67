/**
 * Evaluating lenses as the tuned-lens library's {@code eval} does:
 * {@link dev.loupe.lens.eval.LensEvaluator} computes, per layer, the cross-entropy against the
 * next token, the entropy and KL(final ‖ lens) of the logit lens and a tuned lens, as
 * {@link dev.loupe.lens.eval.LensMetrics} in bits per byte (or nats);
 * {@link dev.loupe.lens.eval.LensEvalOptions} holds the library's defaults. With its options it also measures layer transfer
 * ({@link dev.loupe.lens.eval.LayerTransfer}) and records logit statistics
 * ({@link dev.loupe.lens.eval.LogitStats}, fitted by {@link dev.loupe.lens.eval.DirichletFit});
 * {@link dev.loupe.lens.eval.LensEvalFiles} writes the library's files and
 * {@link dev.loupe.lens.eval.TokenIdInput} reads token ids as data.
 *
 * <p>Floor "lens training and evaluation": it may use {@code dev.loupe.lens},
 * {@code dev.loupe.lens.data}, {@code dev.loupe.lens.stats} and all of loupe-core, not
 * {@code dev.loupe.lens.train} beside it. Per-position statistics of one run belong in
 * {@code dev.loupe.lens} ({@code LensStats}), of a batch in {@code dev.loupe.lens.stats}; only the
 * evaluation over a corpus belongs here.
 */
package dev.loupe.lens.eval;
