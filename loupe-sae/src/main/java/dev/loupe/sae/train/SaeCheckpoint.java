package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.train.Optimizer;
import dev.loupe.train.TrainingCheckpoint;
import dev.loupe.train.TrainingRandom;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint of an SAE run: core's {@link TrainingCheckpoint} (parameters, Adam's moments, step, random
 * state; the JSON also holds the config, the loss curve, the source's position, the buffer's cursor and the
 * scaling factor) plus {@code sae_trainer_state.safetensors}: the mixing buffer's activations
 * ({@code buffer/storage}, {@code buffer/serving}) and the dead-feature statistics ({@code steps_since_fired},
 * {@code fired_tokens}), with the step in its metadata so that a mismatched pair is refused.
 */
final class SaeCheckpoint {
    static final String STATE = "sae_trainer_state.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private SaeCheckpoint() {}

    static void save(Path dir, long step, TrainingRandom random, TrainingSae sae, Optimizer adam, MixingBuffer buffer,
            ActivationSource source, FeatureFiring firing, double scalingFactor, List<TrainingStepLog> curve) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            buffer.state().forEach((name, t) -> tensors.put("buffer/" + name, t));
            tensors.put("steps_since_fired", manager.create(firing.stepsSinceFired));
            tensors.put("fired_tokens", manager.create(firing.firedTokens));
            SafetensorsWriter.write(dir.resolve(STATE), tensors, Map.of("step", Long.toString(step)));
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("config", sae.cfg().asMap());
        extra.put("source_position", source.position());
        extra.put("buffer_cursor", List.of(buffer.cursor()[0], buffer.cursor()[1]));
        extra.put("sampled_tokens", firing.sampledTokens);
        extra.put("scaling_factor", scalingFactor);
        extra.put("curve", curve.stream().map(s -> List.of(s.step(), s.loss(), s.mseLoss(), s.sparsityLoss(), s.l0(),
                s.explainedVariance(), s.deadFeatures(), s.lr())).toList());
        TrainingCheckpoint.save(dir, step, random, sae.parameters(), adam, extra);
    }

    /** What a restore gives back besides what it copies in place. */
    record Restored(double scalingFactor, List<TrainingStepLog> curve) {}

    /**
     * Copies {@code checkpoint} into the run's parts (the buffer must draw from a {@link TrainingRandom} made
     * from {@code checkpoint.randomState()}).
     */
    static Restored restore(TrainingCheckpoint checkpoint, TrainingSae sae, Optimizer adam, MixingBuffer buffer,
            ActivationSource source, FeatureFiring firing) {
        Path dir = checkpoint.dir();
        JsonNode info = checkpoint.info();
        JsonNode saved = info.get("config");
        JsonNode now = JSON.valueToTree(sae.cfg().asMap());
        if (saved == null || !saved.toString().equals(now.toString())) {
            throw new LoupeException("The checkpoint in " + dir + " was written by a run with another config (" + saved
                    + "); resume with the same settings, or use another checkpoint folder");
        }
        checkpoint.restore(sae.parameters(), adam);
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(STATE));
                NDManager manager = NDManager.newBaseManager()) {
            if (!Long.toString(checkpoint.step()).equals(file.metadata().get("step"))) {
                throw new LoupeException("The checkpoint in " + dir + " is inconsistent: " + STATE + " is at step "
                        + file.metadata().get("step") + " but " + TrainingCheckpoint.JSON + " at step " + checkpoint.step()
                        + "; resume from another checkpoint or start again");
            }
            Map<String, NDArray> bufferState = new LinkedHashMap<>();
            for (String name : file.names()) {
                if (name.startsWith("buffer/")) {
                    bufferState.put(name.substring("buffer/".length()), file.load(name, manager));
                }
            }
            JsonNode cursor = info.path("buffer_cursor");
            buffer.restore(bufferState, new int[] {cursor.path(0).asInt(), cursor.path(1).asInt()});
            copy(file.load("steps_since_fired", manager).toFloatArray(), firing.stepsSinceFired);
            copy(file.load("fired_tokens", manager).toFloatArray(), firing.firedTokens);
        }
        firing.sampledTokens = info.path("sampled_tokens").asLong();
        source.seek(info.path("source_position").asLong());
        List<TrainingStepLog> curve = new ArrayList<>();
        for (JsonNode p : info.path("curve")) {
            curve.add(new TrainingStepLog(p.get(0).asLong(), p.get(1).floatValue(), p.get(2).floatValue(),
                    p.get(3).floatValue(), p.get(4).floatValue(), p.get(5).floatValue(), p.get(6).asInt(),
                    p.get(7).asDouble()));
        }
        return new Restored(info.path("scaling_factor").asDouble(1.0), curve);
    }

    private static void copy(float[] from, float[] to) {
        if (from.length != to.length) {
            throw new LoupeException("The checkpoint's feature statistics have " + from.length + " features, not "
                    + to.length + "; it was written for another SAE");
        }
        System.arraycopy(from, 0, to, 0, to.length);
    }
}
