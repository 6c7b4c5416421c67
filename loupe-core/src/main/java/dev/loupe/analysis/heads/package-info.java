/**
 * What attention heads do: {@link dev.loupe.analysis.heads.HeadDetector} (TransformerLens's
 * {@code head_detector}: how closely each head's pattern matches a
 * {@link dev.loupe.analysis.heads.DetectionPattern} such as previous-token, duplicate-token or
 * induction, measured by an {@link dev.loupe.analysis.heads.ErrorMeasure}; scores [n_layers,
 * n_heads]), {@link dev.loupe.analysis.heads.SvdInterpreter} (the top singular vectors of a head's
 * OV circuit or an MLP's weights, read through the unembedding) and
 * {@link dev.loupe.analysis.heads.LayerHead}.
 *
 * <p>Floor "uses of the model": it may use everything in loupe-core up to and including
 * {@code dev.loupe.model}, not the other packages of its floor. The factored matrices and
 * composition scores these read are {@code dev.loupe.linalg}; the circuits of a model are
 * {@code dev.loupe.model} ({@code Circuits}).
 */
package dev.loupe.analysis.heads;
