/**
 * Linear algebra on batches of matrices: {@link dev.loupe.linalg.FactoredMatrix}, a matrix kept as
 * the product {@code A @ B} of its factors (A [..., ldim, mdim], B [..., mdim, rdim]) with
 * TransformerLens's semantics, whose SVD, norm and eigenvalues come from the factors without forming
 * the product; and {@link dev.loupe.linalg.Composition}, TransformerLens's composition scores
 * between factored matrices. DJL has no SVD or eigendecomposition, so they run through EJML in
 * double precision on the CPU.
 *
 * <p>Floor "numeric helpers and linear algebra": it may use only {@code dev.loupe}, and not
 * {@code dev.loupe.numeric} beside it. It knows nothing of models: a model's QK and OV circuits are
 * built in {@code dev.loupe.model} ({@code Circuits}), and reading singular vectors through the
 * unembedding is an analysis ({@code dev.loupe.analysis.heads.SvdInterpreter}).
 */
package dev.loupe.linalg;
