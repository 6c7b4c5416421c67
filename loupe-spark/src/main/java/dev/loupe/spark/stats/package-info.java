/**
 * Corpus statistics as Spark aggregations over harvested rows ({@link dev.loupe.spark.harvest.HarvestSchema}), run
 * on a harvest as it streams (nothing is written) or on its Parquet: per hook and dimension moments
 * ({@link dev.loupe.spark.stats.Moments}: count, mean, variance, min, max; mergeable and numerically stable), the
 * means for mean-ablation, the top-k contexts of every neuron ({@link dev.loupe.spark.stats.TopContexts}) and the head
 * detector's scores averaged over a corpus ({@link dev.loupe.spark.stats.CorpusHeadScores}).
 */
package dev.loupe.spark.stats;
