/**
 * Spark's overhead measured against one process ({@link dev.loupe.spark.bench.SparkBench}): a main, not a test, that
 * {@code ./bench --spark} runs. It lives here rather than in loupe-bench so that loupe-bench's class path stays
 * without Spark.
 */
package dev.loupe.spark.bench;
