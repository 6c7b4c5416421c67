/**
 * Low-level numeric helpers that work around DJL and the JDK, independent of any model:
 * {@link dev.loupe.numeric.Autograd} (the process-wide lock every gradient computation holds,
 * because DJL allows one {@code GradientCollector} at a time), {@link dev.loupe.numeric.HalfFloats}
 * (exact float16 and bfloat16 to float32 widening in Java, and float32 to float16 rounded as libtorch
 * rounds), {@link dev.loupe.numeric.Float16Narrowing} (narrowing a tensor to float16 and deciding
 * whether float16 can hold it, {@link dev.loupe.numeric.Float16RangeException} when not) and
 * {@link dev.loupe.numeric.FilledArrays}
 * (arrays whose bytes Java writes into libtorch's memory: a checkpoint reader's, and the masks and
 * positions of a forward pass, without a direct buffer that only the garbage collector frees),
 * {@link dev.loupe.numeric.HugePages} (libtorch's allocator asked for transparent huge pages, on request),
 * {@link dev.loupe.numeric.GroupedGemm} (several float32 products of different row counts in one call of the MKL
 * inside libtorch), {@link dev.loupe.numeric.Scalars} (scalar operands libtorch owns, and kept constants), and
 * {@link dev.loupe.numeric.StateDict} (a state dict whose scaled entries are made only when read, so that a
 * scaled embedding and its tied unembedding share one stored matrix).
 *
 * <p>Floor "numeric helpers and linear algebra": it may use only {@code dev.loupe}, and not
 * {@code dev.loupe.linalg} beside it. Matrix decompositions go to {@code dev.loupe.linalg};
 * anything that knows a model's config or a file format belongs higher up.
 */
package dev.loupe.numeric;
