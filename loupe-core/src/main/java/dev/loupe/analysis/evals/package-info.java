/**
 * Quick evaluations of a model, after TransformerLens's {@code evals}:
 * {@link dev.loupe.analysis.evals.Evals} (the loss on a fixed paragraph, and on repeated random
 * tokens, which only a model with induction heads gets low) and the indirect-object-identification
 * task, {@link dev.loupe.analysis.evals.IoiDataset} with {@link dev.loupe.analysis.evals.Ioi}
 * (the logit of the indirect object's name minus the subject's).
 *
 * <p>Floor "uses of the model": it may use everything in loupe-core up to and including
 * {@code dev.loupe.model}, not the other packages of its floor. Evaluating lenses is loupe-lens's
 * ({@code dev.loupe.lens.eval}); the toy task's own loss split is {@code dev.loupe.train.toy}.
 */
package dev.loupe.analysis.evals;
