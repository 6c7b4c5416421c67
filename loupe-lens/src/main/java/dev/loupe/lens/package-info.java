/**
 * Lenses: reading a model's intermediate residual stream as next-token predictions.
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
 * {@link dev.loupe.lens.Lens}; {@link dev.loupe.lens.TunedLensFiles} holds the on-disk format;
 * {@link dev.loupe.lens.PredictionTrajectory} tabulates and exports what every layer predicts.
 */
package dev.loupe.lens;
