/**
 * Lenses over a corpus with Spark: evaluation equal to {@link dev.loupe.lens.eval.LensEvaluator}'s
 * ({@link dev.loupe.spark.lens.SparkLensEvaluator}) and data-parallel tuned-lens training.
 */
package dev.loupe.spark.lens;
