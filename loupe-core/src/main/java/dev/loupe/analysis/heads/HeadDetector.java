package dev.loupe.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.model.HookedTransformer;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * TransformerLens's {@code head_detector}: how closely each attention head's pattern on a sequence
 * matches the pattern a kind of head (previous-token, duplicate-token, induction, or your own) would
 * show.
 *
 * <pre>{@code
 * float[][] scores = HeadDetector.detectHead(model, "The cat sat. The cat sat.",
 *         DetectionPattern.PREVIOUS_TOKEN, HeadDetector.Options.defaults());   // [n_layers, n_heads]
 * }</pre>
 *
 * <p>Scores are plain Java arrays [n_layers, n_heads]; heads left out by {@link Options#heads()}
 * score −1.
 */
public final class HeadDetector {
    /** TransformerLens's SEQ_LEN_ERR. */
    static final String SEQ_LEN_ERR = "The sequence must be non-empty and must fit within the model's context window.";

    private static final System.Logger LOG = System.getLogger(HeadDetector.class.getName());

    private HeadDetector() {}

    /**
     * The keyword arguments of {@code detect_head}.
     *
     * @param heads the heads to score, or null for all of them; the rest score −1
     * @param excludeBos leave the attention paid to position 0 out of the comparison
     * @param excludeCurrentToken leave the attention each position pays to itself out of it
     * @param errorMeasure how to compare (TransformerLens's default is {@link ErrorMeasure#MUL})
     */
    public record Options(List<LayerHead> heads, boolean excludeBos, boolean excludeCurrentToken,
            ErrorMeasure errorMeasure) {
        public Options {
            heads = heads == null ? null : List.copyOf(heads);
            if (errorMeasure == null) {
                errorMeasure = ErrorMeasure.MUL;
            }
        }

        /** All heads, nothing excluded, {@code mul}. */
        public static Options defaults() {
            return new Options(null, false, false, ErrorMeasure.MUL);
        }

        /** The same, scoring only {@code selected}. */
        public Options withHeads(List<LayerHead> selected) {
            return new Options(selected, excludeBos, excludeCurrentToken, errorMeasure);
        }

        /** The same with {@code exclude_bos}. */
        public Options withExcludeBos(boolean on) {
            return new Options(heads, on, excludeCurrentToken, errorMeasure);
        }

        /** The same with {@code exclude_current_token}. */
        public Options withExcludeCurrentToken(boolean on) {
            return new Options(heads, excludeBos, on, errorMeasure);
        }

        /** The same with another error measure. */
        public Options withErrorMeasure(ErrorMeasure measure) {
            return new Options(heads, excludeBos, excludeCurrentToken, measure);
        }
    }

    /**
     * Scores every head on {@code text}, tokenized as {@code model.toTokens} does (BOS by the model's
     * default).
     *
     * @return [n_layers, n_heads]
     */
    public static float[][] detectHead(HookedTransformer model, String text, DetectionPattern pattern, Options options) {
        try (NDManager manager = NDManager.newBaseManager()) {
            return detectHead(model, model.toTokens(text, manager), pattern, null, options);
        }
    }

    /**
     * The mean of the scores of each text alone, as TransformerLens does for a list of strings. Only
     * a named pattern can be used, since a fixed one could not fit texts of different lengths.
     * (TransformerLens drops {@code heads}, the exclusions and the error measure when it recurses over
     * the list; here they apply to every text.)
     *
     * @return [n_layers, n_heads]
     */
    public static float[][] detectHead(HookedTransformer model, List<String> texts, DetectionPattern pattern,
            Options options) {
        if (!pattern.isNamed()) {
            throw new LoupeException("A list of texts needs a named detection pattern (PREVIOUS_TOKEN, DUPLICATE_TOKEN"
                    + " or INDUCTION); a custom [pos, pos] pattern fits one sequence only");
        }
        if (texts.isEmpty()) {
            throw new LoupeException("detectHead needs at least one text");
        }
        TransformerConfig cfg = model.config();
        float[][] sum = new float[cfg.nLayers()][cfg.nHeads()];
        for (String text : texts) {
            float[][] one = detectHead(model, text, pattern, options);
            for (int l = 0; l < sum.length; l++) {
                for (int h = 0; h < sum[l].length; h++) {
                    sum[l][h] += one[l][h];
                }
            }
        }
        for (float[] row : sum) {
            for (int h = 0; h < row.length; h++) {
                row[h] /= texts.size();
            }
        }
        return sum;
    }

    /**
     * Scores every head on one sequence of token ids.
     *
     * @param tokens int64 [pos] or [1, pos]
     * @param cache the activations of a run on exactly these tokens (its {@code hook_pattern}s
     *     [1, n_heads, pos, pos] are read), or null to run the model
     * @return [n_layers, n_heads]
     * @throws LoupeException if the sequence does not satisfy 1 &lt; pos &lt; n_ctx, or the detection
     *     pattern is not lower-triangular [pos, pos]
     */
    public static float[][] detectHead(HookedTransformer model, NDArray tokens, DetectionPattern pattern,
            ActivationCache cache, Options options) {
        TransformerConfig cfg = model.config();
        Shape shape = tokens.getShape();
        if (shape.dimension() > 2 || (shape.dimension() == 2 && shape.get(0) != 1)) {
            throw new LoupeException("detectHead takes one sequence [pos] or [1, pos], got " + shape
                    + "; pass a list of texts to average over several");
        }
        long[] ids = tokens.toType(DataType.INT64, false).toLongArray();
        int pos = ids.length;
        float[][] detection = pattern.build(ids);
        if (options.errorMeasure() == ErrorMeasure.MUL && !zerosAndOnes(detection)) {
            LOG.log(System.Logger.Level.WARNING,
                    "Using detection pattern with values other than 0 or 1 with error_measure 'mul'");
        }
        if (!(1 < pos && pos < cfg.nCtx())) {
            throw new LoupeException(SEQ_LEN_ERR);
        }
        if (detection.length != pos || !lowerTriangular(detection)) {
            throw new LoupeException(String.format("The detection pattern must be a lower triangular matrix of shape"
                    + " (sequence_length, sequence_length); sequence_length=%d; got detection pattern of shape %s",
                    pos, describe(detection)));
        }
        Map<Integer, List<Integer>> layerToHeads = layerToHeads(cfg, options.heads());
        float[][] scores = new float[cfg.nLayers()][cfg.nHeads()];
        for (float[] row : scores) {
            java.util.Arrays.fill(row, -1f);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            ActivationCache own = null;
            if (cache == null) {
                NDArray batch = manager.create(ids, new Shape(1, pos));
                // Only the patterns are needed: keeping the rest of the cache would waste memory.
                own = model.runWithCache(batch, CacheOptions.matching("blocks\\.\\d+\\.attn\\.hook_pattern"));
                cache = own;
            }
            try {
                for (Map.Entry<Integer, List<Integer>> entry : layerToHeads.entrySet()) {
                    int layer = entry.getKey();
                    NDArray layerPattern = cache.get("pattern", layer); // [batch, head, q, k]
                    Shape ps = layerPattern.getShape();
                    if (ps.get(0) != 1 || ps.get(2) != pos || ps.get(3) != pos) {
                        throw new LoupeException("The cache's " + ActName.of("pattern", layer) + " is " + ps
                                + "; expected [1, " + cfg.nHeads() + ", " + pos + ", " + pos + "] for this sequence");
                    }
                    float[] flat = layerPattern.toType(DataType.FLOAT32, false).toFloatArray();
                    for (int head : entry.getValue()) {
                        float[][] headPattern = new float[pos][pos];
                        int base = head * pos * pos;
                        for (int q = 0; q < pos; q++) {
                            System.arraycopy(flat, base + q * pos, headPattern[q], 0, pos);
                        }
                        scores[layer][head] = similarity(headPattern, detection, options.excludeBos(),
                                options.excludeCurrentToken(), options.errorMeasure());
                    }
                }
            } finally {
                if (own != null) {
                    own.close();
                }
            }
        }
        return scores;
    }

    /**
     * TransformerLens's {@code compute_head_attention_similarity_score} for one head.
     *
     * @param attention the head's pattern [q_pos, k_pos] (not changed)
     * @param detection the detection pattern [pos, pos]
     */
    public static float similarity(float[][] attention, float[][] detection, boolean excludeBos,
            boolean excludeCurrentToken, ErrorMeasure measure) {
        int n = attention.length;
        for (float[] row : attention) {
            if (row.length != n) {
                throw new LoupeException("Attention pattern is not square; got " + n + " rows of " + row.length);
            }
        }
        if (measure == ErrorMeasure.MUL) {
            // float sums, as torch would on a float32 pattern
            float matched = 0f;
            float total = 0f;
            for (int q = 0; q < n; q++) {
                for (int k = 0; k < n; k++) {
                    if ((excludeBos && k == 0) || (excludeCurrentToken && q == k)) {
                        continue;
                    }
                    matched += attention[q][k] * detection[q][k];
                    total += attention[q][k];
                }
            }
            return matched / total;
        }
        double sum = 0;
        for (int q = 0; q < n; q++) {
            for (int k = 0; k < n; k++) {
                float diff = Math.abs(attention[q][k] - detection[q][k]);
                if (k > q && diff != 0f) {
                    // TransformerLens asserts this: a causal pattern against a lower-triangular one.
                    throw new LoupeException("The attention pattern differs from the detection pattern above the"
                            + " diagonal at (" + q + ", " + k + "); both must be lower triangular");
                }
                if ((excludeBos && k == 0) || (excludeCurrentToken && q == k)) {
                    continue;
                }
                sum += diff;
            }
        }
        double meanTimesSize = (float) (sum / ((double) n * n)) * n;
        // Python's round(x, 3) rounds the exact binary value half-to-even; BigDecimal(double) is exact.
        double rounded = new BigDecimal(meanTimesSize).setScale(3, RoundingMode.HALF_EVEN).doubleValue();
        return (float) (1 - rounded);
    }

    private static Map<Integer, List<Integer>> layerToHeads(TransformerConfig cfg, List<LayerHead> heads) {
        Map<Integer, List<Integer>> map = new LinkedHashMap<>();
        if (heads == null) {
            for (int l = 0; l < cfg.nLayers(); l++) {
                List<Integer> all = new ArrayList<>();
                for (int h = 0; h < cfg.nHeads(); h++) {
                    all.add(h);
                }
                map.put(l, all);
            }
            return map;
        }
        for (LayerHead lh : heads) {
            if (lh.layer() < 0 || lh.layer() >= cfg.nLayers() || lh.head() < 0 || lh.head() >= cfg.nHeads()) {
                throw new LoupeException("Head " + lh + " is outside the model's " + cfg.nLayers() + " layers of "
                        + cfg.nHeads() + " heads");
            }
            map.computeIfAbsent(lh.layer(), k -> new ArrayList<>()).add(lh.head());
        }
        return map;
    }

    private static boolean zerosAndOnes(float[][] m) {
        for (float[] row : m) {
            for (float v : row) {
                if (v != 0f && v != 1f) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean lowerTriangular(float[][] m) {
        for (int i = 0; i < m.length; i++) {
            if (m[i].length != m.length) {
                return false;
            }
            for (int j = i + 1; j < m.length; j++) {
                if (m[i][j] != 0f) {
                    return false;
                }
            }
        }
        return true;
    }

    private static String describe(float[][] m) {
        return "(" + m.length + ", " + (m.length == 0 ? 0 : m[0].length) + ")";
    }
}
