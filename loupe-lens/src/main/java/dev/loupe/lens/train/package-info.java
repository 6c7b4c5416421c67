/**
 * Training tuned lenses as the tuned-lens library's {@code train} does:
 * {@link dev.loupe.lens.train.TunedLensTrainer} runs the frozen model and backpropagates each
 * layer's loss into that layer's translator only, with the library's defaults in
 * {@link dev.loupe.lens.train.LensTrainingOptions} ({@link dev.loupe.lens.train.LensLoss},
 * {@link dev.loupe.lens.train.LensOptimizer}), and reports a
 * {@link dev.loupe.lens.train.LensTrainingResult}.
 *
 * <p>Floor "lens training and evaluation": it may use {@code dev.loupe.lens},
 * {@code dev.loupe.lens.data} and all of loupe-core, not {@code dev.loupe.lens.eval} beside it.
 * Generic optimizers, schedules and checkpoints come from {@code dev.loupe.train} and do not
 * belong here; the lens itself is {@code dev.loupe.lens}.
 */
package dev.loupe.lens.train;
