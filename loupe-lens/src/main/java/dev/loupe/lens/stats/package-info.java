/**
 * Statistics of prediction trajectories over a batch, as the tuned-lens library's
 * {@code PredictionTrajectory} computes them: {@link dev.loupe.lens.stats.PredictionTrajectories}
 * holds every layer's log-probabilities for a batch read through one lens,
 * {@link dev.loupe.lens.stats.TrajectoryStatistic} one per-position statistic of it (per sequence and
 * averaged over the batch, padding left out), {@link dev.loupe.lens.stats.TrajectoryComparison} the
 * divergences between two trajectories, {@link dev.loupe.lens.stats.TrajectoryInputs} the token ids,
 * targets and anti-targets they are computed for.
 *
 * <p>Floor "statistics of lens predictions", above the lenses: it may use {@code dev.loupe.lens} and
 * all of loupe-core. The single-prompt table ({@code PredictionTrajectory}) stays in
 * {@code dev.loupe.lens}; evaluation over a corpus is {@code dev.loupe.lens.eval}.
 */
package dev.loupe.lens.stats;
