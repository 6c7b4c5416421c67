/**
 * The Spark commands: {@code loupe spark harvest|stats} and {@code loupe lens eval|train --spark}. They have a main of
 * their own ({@link dev.loupe.spark.cli.SparkMain}) that the {@code loupe} script starts, with Spark's jars on the class
 * path, only for these commands: the plain CLI's class path and start time stay without Spark.
 */
package dev.loupe.spark.cli;
