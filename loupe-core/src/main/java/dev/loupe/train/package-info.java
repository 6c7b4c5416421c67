/**
 * Training machinery as torch has it, independent of what is trained:
 * {@link dev.loupe.train.Optimizer} with {@link dev.loupe.train.AdamW} and
 * {@link dev.loupe.train.Sgd}, {@link dev.loupe.train.LearningRateSchedule},
 * {@link dev.loupe.train.Gradients} (recorded under {@code dev.loupe.numeric.Autograd}'s lock),
 * {@link dev.loupe.train.GradientClipping}, {@link dev.loupe.train.TrainingRandom} (a seeded
 * source whose state fits in a checkpoint), {@link dev.loupe.train.TrainingCheckpoint} (resumes a
 * run exactly), {@link dev.loupe.train.ProgressBar} and {@link dev.loupe.train.LossCurveSvg}.
 *
 * <p>Floor "uses of the model": it may use everything in loupe-core up to and including
 * {@code dev.loupe.model}, not the other packages of its floor (today it needs only the numeric
 * helpers and safetensors). What is trained does not belong here: the toy models and their task
 * are {@code dev.loupe.train.toy}, tuned lenses are {@code dev.loupe.lens.train}.
 */
package dev.loupe.train;
