package dev.loupe.load;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.load.safetensors.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a Hugging Face model folder by name, read lazily from {@code model.safetensors}.
 * A prefix that wraps every name (GPT-2's {@code transformer.}) may be left out when asking.
 */
public final class WeightSource implements AutoCloseable {
    private final SafetensorsFile file;

    private WeightSource(SafetensorsFile file) {
        this.file = file;
    }

    /** Opens the weights of the model folder {@code dir}. */
    public static WeightSource open(Path dir) {
        Path single = dir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) {
            return new WeightSource(SafetensorsFile.open(single));
        }
        List<String> present = new ArrayList<>();
        try (var files = Files.list(dir)) {
            files.map(p -> p.getFileName().toString()).sorted().forEach(present::add);
        } catch (java.io.IOException e) {
            throw new CheckpointException("Cannot list the model folder " + dir + ": " + e.getMessage(), e);
        }
        String hint = present.stream().anyMatch(n -> n.endsWith(".bin") || n.endsWith(".pt"))
                ? " It holds PyTorch checkpoints, which this version of Loupe cannot read yet; convert them to "
                        + "safetensors (safetensors.torch.save_file) first."
                : "";
        throw new CheckpointException("No model.safetensors in " + dir + " (it holds: " + String.join(", ", present)
                + ")." + hint);
    }

    /** Whether a tensor called {@code name} exists, with or without {@code prefix}. */
    public boolean contains(String prefix, String name) {
        return file.contains(prefix + name) || file.contains(name);
    }

    /**
     * The tensor {@code name} (looked up as {@code prefix + name}, then as {@code name}) as float32
     * (bf16 and f16 widened), owned by {@code manager}.
     */
    public NDArray load(String prefix, String name, NDManager manager) {
        return file.load(file.contains(prefix + name) ? prefix + name : name, manager);
    }

    /** The file the tensors come from. */
    public Path path() {
        return file.path();
    }

    @Override
    public void close() {
        file.close();
    }
}
