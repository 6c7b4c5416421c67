/**
 * The JMH benchmarks ({@code ./bench}): forward passes of a GPT-2-small-shaped model
 * ({@link dev.loupe.bench.ForwardBench}, float16 weights in {@link dev.loupe.bench.HalfWeightsBench})
 * and of a Llama-shaped one ({@link dev.loupe.bench.LlamaForwardBench}), loading, generation,
 * tokenizing, a patching sweep, tuned-lens training, and the 4096³ matMul ceiling
 * ({@link dev.loupe.bench.MatMulBench}) the others are measured against. Their models have random
 * weights from fixed seeds, generated once into the temporary folder
 * ({@link dev.loupe.bench.Gpt2SmallFixture}, {@link dev.loupe.bench.LlamaShapedFixture});
 * {@link dev.loupe.bench.Report} prints a JMH result file as a table with GFLOP/s, tokens/s and the
 * targets. {@link dev.loupe.bench.BigBench} ({@code ./bench --big}) measures real-size Gemma 2 and
 * Mixtral shapes outside JMH, each in a child JVM of its own: load time, resident memory, forward speed.
 *
 * <p>Floor "benchmarks", the top of {@code FloorPlan}: it may use every other package, though the
 * module depends only on loupe-core and loupe-lens. Nothing may use it, so nothing the library or
 * the command line needs belongs here: an API a benchmark is missing goes into the module it
 * measures.
 */
package dev.loupe.bench;
