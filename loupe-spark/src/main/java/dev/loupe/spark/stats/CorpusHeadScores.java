package dev.loupe.spark.stats;

import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.analysis.heads.DetectionPattern;
import dev.loupe.analysis.heads.ErrorMeasure;
import dev.loupe.analysis.heads.HeadDetector;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.ModelSpec;
import dev.loupe.spark.RowArrays;
import dev.loupe.spark.harvest.HarvestSchema;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * TransformerLens's head detector averaged over a corpus: each chunk scored alone (as {@code detect_head} scores each
 * text of a list), the scores summed in a tree aggregation and divided by the number of chunks.
 */
public final class CorpusHeadScores {
    private CorpusHeadScores() {}

    /**
     * The mean score of every head [n_layers, n_heads] over the chunk rows {@code chunks}
     * ({@code Harvest.chunks}), for a named pattern: {@code previous_token_head}, {@code duplicate_token_head} or
     * {@code induction_head}.
     */
    public static double[][] mean(Dataset<Row> chunks, ModelSpec model, String pattern, boolean excludeBos,
            boolean excludeCurrentToken, ErrorMeasure measure) {
        named(pattern);
        int tokensColumn = List.of(chunks.columns()).indexOf(HarvestSchema.TOKENS);
        if (tokensColumn < 0) {
            throw new LoupeException("Head scores need chunk rows with a '" + HarvestSchema.TOKENS + "' column (from"
                    + " Harvest.chunks), got " + List.of(chunks.columns()));
        }
        double[] total = chunks.javaRDD().map(row -> {
            HookedTransformer transformer = ExecutorModels.get(model);
            long[] tokens = RowArrays.longs(row, tokensColumn);
            try (NDManager manager = NDManager.newBaseManager()) {
                float[][] scores = HeadDetector.detectHead(transformer, manager.create(tokens), named(pattern), null,
                        HeadDetector.Options.defaults().withExcludeBos(excludeBos)
                                .withExcludeCurrentToken(excludeCurrentToken).withErrorMeasure(measure));
                return flattenWithCount(scores);
            }
        }).treeReduce(CorpusHeadScores::sum);
        int heads = (total.length - 1) / ExecutorModels.get(model).config().nLayers();
        double[][] mean = new double[(total.length - 1) / heads][heads];
        for (int l = 0; l < mean.length; l++) {
            for (int h = 0; h < heads; h++) {
                mean[l][h] = total[l * heads + h] / total[total.length - 1];
            }
        }
        return mean;
    }

    private static DetectionPattern named(String pattern) {
        return switch (pattern.toLowerCase(Locale.ROOT)) {
            case "previous_token_head" -> DetectionPattern.PREVIOUS_TOKEN;
            case "duplicate_token_head" -> DetectionPattern.DUPLICATE_TOKEN;
            case "induction_head" -> DetectionPattern.INDUCTION;
            default -> throw new LoupeException("Unknown detection pattern '" + pattern + "'; a corpus takes a named one:"
                    + " previous_token_head, duplicate_token_head or induction_head");
        };
    }

    // [n_layers·n_heads scores, then 1 (the chunk count)]
    private static double[] flattenWithCount(float[][] scores) {
        double[] out = new double[scores.length * scores[0].length + 1];
        for (int l = 0; l < scores.length; l++) {
            for (int h = 0; h < scores[l].length; h++) {
                out[l * scores[l].length + h] = scores[l][h];
            }
        }
        out[out.length - 1] = 1;
        return out;
    }

    private static double[] sum(double[] a, double[] b) {
        double[] out = a.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] += b[i];
        }
        return out;
    }
}
