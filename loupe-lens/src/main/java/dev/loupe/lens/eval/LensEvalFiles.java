package dev.loupe.lens.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes an evaluation as the tuned-lens library's {@code eval} does: {@code aggregate_metrics.json},
 * {@code batches.jsonl} (one JSON list of every batch's means, in nats) and, with logit statistics,
 * {@code logit_stats.json} (the library's file: the marginal probabilities) and
 * {@code logit_stats.safetensors}: {@code {name}.marginal_probs}, {@code .sufficient_stats} float32 [V],
 * {@code .n} int64 [1], {@code .dirichlet_alpha} float32 [V] and {@code .dirichlet_nll} float32 [1]
 * for every recorder ({@code logit.layer_0}, …, {@code baseline.final}).
 */
public final class LensEvalFiles {
    public static final String AGGREGATE = "aggregate_metrics.json";
    public static final String BATCHES = "batches.jsonl";
    public static final String LOGIT_STATS_JSON = "logit_stats.json";
    public static final String LOGIT_STATS = "logit_stats.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();

    private LensEvalFiles() {}

    /** Writes the files into {@code dir} (created if missing); returns the paths written. */
    public static List<Path> write(Path dir, LensEvaluation evaluation) {
        List<Path> written = new ArrayList<>();
        try {
            Path aggregate = dir.resolve(AGGREGATE);
            AtomicFiles.writeString(aggregate, JSON.copy().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(evaluation.aggregate().toJson()));
            written.add(aggregate);
            List<Map<String, Object>> batches = new ArrayList<>();
            evaluation.batches().forEach(batch -> batches.add(batch.toLibraryJson()));
            Path batchFile = dir.resolve(BATCHES);
            AtomicFiles.writeString(batchFile, JSON.writeValueAsString(batches));
            written.add(batchFile);
            if (!evaluation.logitStats().isEmpty()) {
                Path json = dir.resolve(LOGIT_STATS_JSON);
                AtomicFiles.writeString(json, JSON.writeValueAsString(marginals(evaluation.logitStats())));
                written.add(json);
                Path tensors = dir.resolve(LOGIT_STATS);
                writeTensors(tensors, evaluation.logitStats());
                written.add(tensors);
            }
        } catch (JsonProcessingException e) {
            throw new LoupeException("Cannot write the evaluation as JSON: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new LoupeException("Cannot write the evaluation into " + dir + ": " + e.getMessage(), e);
        }
        return written;
    }

    /** {@code {"logit": {"logit_stats": {"layer_0": [...]}}, ..., "baseline": {"logit_stats": {"final": [...]}}}}. */
    private static Map<String, Object> marginals(Map<String, LogitStats> stats) {
        Map<String, Object> out = new LinkedHashMap<>();
        stats.forEach((name, recorder) -> {
            int dot = name.indexOf('.');
            @SuppressWarnings("unchecked")
            Map<String, Object> lens = (Map<String, Object>) out.computeIfAbsent(name.substring(0, dot),
                    k -> new LinkedHashMap<>(Map.of("logit_stats", new LinkedHashMap<String, Object>())));
            @SuppressWarnings("unchecked")
            Map<String, Object> layers = (Map<String, Object>) lens.get("logit_stats");
            layers.put(name.substring(dot + 1), recorder.marginalProbs());
        });
        return out;
    }

    private static void writeTensors(Path file, Map<String, LogitStats> stats) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            stats.forEach((name, recorder) -> {
                DirichletFit fit = recorder.fitDirichlet();
                tensors.put(name + ".marginal_probs", manager.create(floats(recorder.marginalProbs())));
                tensors.put(name + ".sufficient_stats", manager.create(floats(recorder.sufficientStats())));
                tensors.put(name + ".n", manager.create(new long[] {recorder.n()}));
                tensors.put(name + ".dirichlet_alpha", manager.create(floats(fit.alpha())));
                tensors.put(name + ".dirichlet_nll", manager.create(new float[] {(float) fit.negativeLogLikelihood()}));
            });
            SafetensorsWriter.write(file, tensors);
        }
    }

    private static float[] floats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
