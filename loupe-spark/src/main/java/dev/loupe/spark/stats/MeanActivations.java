package dev.loupe.spark.stats;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The mean of each hook's activation over a corpus, for mean-ablation: a safetensors file with one float32 tensor
 * [width] per hook under its TransformerLens name (reshape to the hook's trailing shape, e.g. [n_heads, d_head]).
 */
public final class MeanActivations {
    private MeanActivations() {}

    /** Writes the means of {@code moments} to {@code file}. */
    public static void write(Map<String, Moments> moments, Path file) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            moments.forEach((hook, m) -> {
                double[] mean = m.mean();
                float[] values = new float[mean.length];
                for (int d = 0; d < values.length; d++) {
                    values[d] = (float) mean[d];
                }
                tensors.put(hook, manager.create(values));
            });
            SafetensorsWriter.write(file, tensors);
        }
    }
}
