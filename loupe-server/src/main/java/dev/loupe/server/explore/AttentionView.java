package dev.loupe.server.explore;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.analysis.heads.DetectionPattern;
import dev.loupe.analysis.heads.HeadDetector;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.ActName;
import dev.loupe.hook.HookSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Attention patterns and head scores, {@code POST /api/v1/attention}: every head's
 * {@code blocks.L.attn.hook_pattern} and TransformerLens's {@code detect_head} scores on this prompt
 * (attention to BOS left out, as {@code loupe demo} scores them).
 *
 * @param tokens the prompt's ids [pos]
 * @param strings each token as shown [pos]
 * @param patterns [layer][head_index][query_pos][key_pos]
 * @param scores detection pattern name → [layer][head]; empty when the prompt fills the whole context
 *     (the detector needs pos &lt; n_ctx)
 */
public record AttentionView(long[] tokens, List<String> strings, float[][][][] patterns, Map<String, float[][]> scores) {

    /** What an attention request sends. */
    public record Request(String model, Prompt prompt, List<Intervention> interventions) {}

    private static final List<DetectionPattern> DETECTORS = List.of(DetectionPattern.PREVIOUS_TOKEN,
            DetectionPattern.DUPLICATE_TOKEN, DetectionPattern.INDUCTION);

    /** Runs {@code served} on {@code ids} [pos] with {@code hooks} and reads every pattern. */
    public static AttentionView compute(ServedModel served, long[] ids, List<HookSpec> hooks) {
        var config = served.model().config();
        int pos = ids.length;
        float[][][][] patterns = new float[config.nLayers()][config.nHeads()][pos][pos];
        Map<String, float[][]> scores = new LinkedHashMap<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, pos);
            try (ActivationCache cache = served.model().runWithCache(tokens,
                    CacheOptions.matching("blocks\\.\\d+\\.attn\\.hook_pattern"), hooks)) {
                for (int layer = 0; layer < config.nLayers(); layer++) {
                    float[] flat = cache.get(ActName.of("pattern", layer)).toType(DataType.FLOAT32, false).toFloatArray();
                    for (int h = 0; h < config.nHeads(); h++) {
                        for (int q = 0; q < pos; q++) {
                            System.arraycopy(flat, (h * pos + q) * pos, patterns[layer][h][q], 0, pos);
                        }
                    }
                }
                if (pos < config.nCtx()) {
                    HeadDetector.Options options = HeadDetector.Options.defaults().withExcludeBos(true);
                    for (DetectionPattern detector : DETECTORS) {
                        scores.put(detector.name(), HeadDetector.detectHead(served.model(), tokens, detector, cache,
                                options));
                    }
                }
            }
        }
        return new AttentionView(ids, served.labels(ids), patterns, scores);
    }
}
