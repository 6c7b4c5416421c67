/**
 * Lenses: reading a model's intermediate residual stream as next-token predictions, compatible
 * with the Python tuned-lens library.
 *
 * <pre>{@code
 * try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir);
 *      TunedLens lens = TunedLens.load(lensDir, model);          // config.json + params.pt (Python format)
 *      NDManager manager = NDManager.newBaseManager();
 *      LensInputs inputs = LensInputs.run(model, model.toTokens("Paris is the capital of", manager))) {
 *     NDArray logits = lens.forward(inputs.hidden(3), 3);        // [batch, pos, d_vocab]
 *     NDArray kl = LensStats.klDivergence(inputs.logits(), logits);
 * }
 * }</pre>
 *
 * <p>{@link dev.loupe.lens.LogitLens} and {@link dev.loupe.lens.TunedLens} implement
 * {@link dev.loupe.lens.Lens}, both ending in the model's {@link dev.loupe.lens.Unembedding};
 * {@link dev.loupe.lens.TunedLensFiles} holds the on-disk format and
 * {@link dev.loupe.lens.PretrainedLenses} the library's lenses on the Hub;
 * {@link dev.loupe.lens.LensBasis} records the weight processing a lens was trained in;
 * {@link dev.loupe.lens.PredictionTrajectory} tabulates and exports what every layer predicts.
 *
 * <p>Floor "lenses and their data", the lowest of loupe-lens: it may use all of loupe-core, not
 * {@code dev.loupe.lens.data} beside it. Statistics of a batch's trajectories go to
 * {@code dev.loupe.lens.stats}, training lenses to {@code dev.loupe.lens.train},
 * evaluating them to {@code dev.loupe.lens.eval}, drawing trajectories to loupe-viz.
 */
package dev.loupe.lens;
