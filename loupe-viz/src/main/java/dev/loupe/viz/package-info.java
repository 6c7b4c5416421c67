/**
 * Views of what a model computes, for people to look at: self-contained HTML reports (attention
 * patterns as in CircuitsVis, prediction trajectories as in Tuned Lens, heatmaps, bar charts,
 * coloured tokens, SAE feature pages) that open offline with no network request, and PNG images of the same heatmaps.
 *
 * <p>The views take plain data records ({@link dev.loupe.viz.AttentionPatterns},
 * {@link dev.loupe.viz.TrajectoryData}, {@link dev.loupe.viz.Heatmap}, {@link dev.loupe.viz.BarChart},
 * {@link dev.loupe.viz.ColoredTokens}, {@link dev.loupe.viz.TokenContexts}, {@link dev.loupe.viz.Histogram},
 * {@link dev.loupe.viz.FeatureTable}), so any analysis can be shown by filling one in;
 * {@link dev.loupe.viz.HtmlReport} writes HTML and {@link dev.loupe.viz.PngExport} writes PNG.
 * {@link dev.loupe.viz.LensTrajectory} and {@link dev.loupe.viz.PromptViews} fill the records from a
 * model, a cache or a lens; {@link dev.loupe.viz.TrajectoryStatisticPlots} from a batch's trajectory statistics;
 * {@link dev.loupe.viz.FeaturePage} and {@link dev.loupe.viz.FeatureIndex} from an
 * SAE's {@code dev.loupe.sae.features} harvest; {@link dev.loupe.viz.PhaseChangeView} draws a toy run's
 * phase-change tracking ({@code dev.loupe.train.toy.PhaseRecord}) as stacked heatmaps.
 *
 * <p>Floor "views": it may use all of loupe-core, loupe-lens and loupe-sae. It draws and does not compute:
 * an analysis whose result is drawn here belongs in loupe-core, loupe-lens or loupe-sae, and the commands that
 * write pages and images ({@code loupe view}, {@code loupe demo}) belong in loupe-cli.
 */
package dev.loupe.viz;
