package dev.loupe.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training run's state at the end of a step, enough to resume it exactly: the parameters, the
 * optimizer's state, the step, and the state of the run's {@link TrainingRandom}. On disk, a folder
 * with {@code checkpoint.safetensors} (tensors {@code param/<name>} and {@code optimizer/<slot>.<i>})
 * and {@code checkpoint.json} (step, random state, optimizer hyperparameters, and what the trainer
 * adds, such as its options). Each file is written under a temporary name and moved into place, and
 * the step is in both, so a pair left mismatched by a crash is refused rather than resumed wrongly.
 *
 * @param step the number of completed optimizer steps
 * @param randomState {@link TrainingRandom#state()} after that step
 * @param info the JSON file's content
 */
public record TrainingCheckpoint(Path dir, long step, long randomState, JsonNode info) {
    /** The tensors' file in a checkpoint folder. */
    public static final String TENSORS = "checkpoint.safetensors";
    /** The JSON file in a checkpoint folder. */
    public static final String JSON = "checkpoint.json";

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * Writes a checkpoint into {@code dir} (created if missing, replacing an earlier checkpoint).
     *
     * @param parameters the trained parameters by name
     * @param extra more entries for the JSON file (the trainer's options, say)
     */
    public static void save(Path dir, long step, TrainingRandom random, Map<String, NDArray> parameters,
            Optimizer optimizer, Map<String, Object> extra) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        parameters.forEach((name, value) -> tensors.put("param/" + name, value));
        optimizer.state().forEach((name, value) -> tensors.put("optimizer/" + name, value));
        SafetensorsWriter.write(dir.resolve(TENSORS), tensors, Map.of("step", Long.toString(step)));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("step", step);
        json.put("random_state", random.state());
        json.put("optimizer", optimizer.hyperparameters());
        json.put("optimizer_steps", optimizer.stepCount());
        json.putAll(extra);
        Path file = dir.resolve(JSON);
        Path temp = dir.resolve("." + JSON + ".tmp");
        try {
            MAPPER.writeValue(temp.toFile(), json);
            try {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new LoupeException("Cannot write the checkpoint " + file + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code dir} holds a checkpoint. */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(JSON)) && Files.isRegularFile(dir.resolve(TENSORS));
    }

    /** Reads the JSON part of the checkpoint in {@code dir}; {@link #restore} reads the tensors. */
    public static TrainingCheckpoint read(Path dir) {
        if (!exists(dir)) {
            throw new LoupeException("No checkpoint in " + dir + ": it needs " + JSON + " and " + TENSORS
                    + " (written by a run with a checkpoint folder)");
        }
        try {
            JsonNode json = MAPPER.readTree(dir.resolve(JSON).toFile());
            if (json == null || !json.has("step") || !json.has("random_state")) {
                throw new LoupeException(dir.resolve(JSON) + " has no step or random_state; it is not a Loupe checkpoint");
            }
            return new TrainingCheckpoint(dir, json.get("step").asLong(), json.get("random_state").asLong(), json);
        } catch (IOException e) {
            throw new LoupeException("Cannot read " + dir.resolve(JSON) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Copies the saved parameters into {@code parameters} (in place, so every holder of them sees the
     * saved values) and the saved state into {@code optimizer}.
     */
    public void restore(Map<String, NDArray> parameters, Optimizer optimizer) {
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(TENSORS));
                NDManager manager = NDManager.newBaseManager()) {
            String savedStep = file.metadata().get("step");
            if (!Long.toString(step).equals(savedStep)) {
                throw new LoupeException("The checkpoint in " + dir + " is inconsistent: " + JSON + " is at step " + step
                        + " but " + TENSORS + " at step " + savedStep + " (a run stopped while writing it); resume from"
                        + " another checkpoint or start again");
            }
            for (Map.Entry<String, NDArray> entry : parameters.entrySet()) {
                String name = "param/" + entry.getKey();
                if (!file.contains(name)) {
                    throw new LoupeException("The checkpoint in " + dir + " has no parameter " + entry.getKey()
                            + "; it was written for another model");
                }
                NDArray saved = file.load(name, manager);
                if (!saved.getShape().equals(entry.getValue().getShape())) {
                    throw new LoupeException("Parameter " + entry.getKey() + " is " + saved.getShape() + " in the"
                            + " checkpoint but " + entry.getValue().getShape() + " in the model; it was written for"
                            + " another model");
                }
                saved.copyTo(entry.getValue());
            }
            Map<String, NDArray> state = new LinkedHashMap<>();
            for (String name : file.names()) {
                if (name.startsWith("optimizer/")) {
                    state.put(name.substring("optimizer/".length()), file.load(name, manager));
                }
            }
            optimizer.loadState(state, info.path("optimizer_steps").asLong(step));
        }
    }
}
