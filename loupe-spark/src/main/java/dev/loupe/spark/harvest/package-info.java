/**
 * Harvesting activations with Spark: a corpus tokenized and chunked as {@link dev.loupe.tokenize.TokenChunks}
 * does (chunk boundaries never depend on the partitioning), run through the model on executors, one Parquet row per
 * token with one float array per hook ({@link dev.loupe.spark.harvest.Harvest}), and activation stores in the format
 * the SAE trainer reads ({@link dev.loupe.spark.harvest.ActivationShards}).
 */
package dev.loupe.spark.harvest;
