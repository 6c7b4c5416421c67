/**
 * What one forward pass takes and gives: {@link dev.loupe.run.ForwardOptions} (TransformerLens's
 * {@code forward} keyword arguments), {@link dev.loupe.run.ReturnType},
 * {@link dev.loupe.run.Metric} (the scalar whose gradient backward hooks see),
 * {@link dev.loupe.run.ModelOutput} (logits [batch, pos, d_vocab_out], loss, or the residual of a
 * run stopped early) and {@link dev.loupe.run.KeyValueCache} (earlier positions' keys and values,
 * reused by the next pass).
 *
 * <p>Floor "what one run takes and gives": it may use {@code dev.loupe}, the numeric helpers,
 * {@code dev.loupe.linalg} and {@code dev.loupe.config}. These types sit this low so that the
 * components, the activation cache and the analyses can name a run's inputs and outputs without
 * depending on the model. The code that performs a run does not belong here: it is
 * {@code dev.loupe.model} ({@code ForwardRun}); the activation cache is {@code dev.loupe.cache}.
 */
package dev.loupe.run;
