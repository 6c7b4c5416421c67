/**
 * What every Spark job of Loupe shares: the model a job names ({@link dev.loupe.spark.ModelSpec}), loaded once per
 * executor JVM ({@link dev.loupe.spark.ExecutorModels}), and the embedded session ({@link dev.loupe.spark.LoupeSpark}).
 * The jobs live in the sub-packages: {@code harvest}, {@code stats}, {@code lens}.
 */
package dev.loupe.spark;
