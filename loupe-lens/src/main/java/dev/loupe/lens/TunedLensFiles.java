package dev.loupe.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.io.torch.TorchCheckpoint;
import dev.loupe.io.torch.TorchCheckpointWriter;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tuned-lens folder format, in one place: {@code config.json} ({@link TunedLensConfig}) and the
 * translators' state dict as {@code params.pt} (what the Python library's {@code TunedLens.save}
 * writes: {@code torch.save(layer_translators.state_dict())}, fp16 or fp32, any storage location) or
 * {@code params.safetensors}. {@code params.pt} is read through Loupe's restricted unpickler, so a
 * lens file cannot run code.
 */
public final class TunedLensFiles {
    /** The file names the Python library uses. */
    public static final String CONFIG = "config.json";
    public static final String TORCH_PARAMS = "params.pt";
    public static final String SAFETENSORS_PARAMS = "params.safetensors";

    /** How the parameters are stored. */
    public enum Format {
        /** {@code params.pt}, a torch zip pickle that {@code torch.load} and the Python library read. */
        TORCH,
        /** {@code params.safetensors}. */
        SAFETENSORS
    }

    private TunedLensFiles() {}

    /** Loads {@code dir} for {@code model}; {@code params.pt} is preferred when both files exist. */
    public static TunedLens load(Path dir, HookedTransformer model) {
        TunedLensConfig config = readConfig(dir);
        Path torch = dir.resolve(TORCH_PARAMS);
        Path safetensors = dir.resolve(SAFETENSORS_PARAMS);
        try (NDManager scratch = NDManager.newBaseManager()) {
            Map<String, NDArray> stateDict = new LinkedHashMap<>();
            Path source;
            if (Files.isRegularFile(torch)) {
                source = torch;
                try (TorchCheckpoint pt = TorchCheckpoint.open(torch)) {
                    for (String name : pt.names()) {
                        stateDict.put(name, pt.load(name, scratch));
                    }
                }
            } else if (Files.isRegularFile(safetensors)) {
                source = safetensors;
                try (SafetensorsFile st = SafetensorsFile.open(safetensors)) {
                    for (String name : st.names()) {
                        stateDict.put(name, st.load(name, scratch));
                    }
                }
            } else {
                throw new LoupeException(dir + " has " + CONFIG + " but no " + TORCH_PARAMS + " or " + SAFETENSORS_PARAMS
                        + "; copy the lens's parameters next to its config");
            }
            return TunedLens.of(config, stateDict, model, source.toString());
        }
    }

    /**
     * Reads just {@code dir/config.json}, e.g. to learn which model and basis a lens needs before
     * loading the model.
     */
    public static TunedLensConfig readConfig(Path dir) {
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isDirectory(dir)) {
            throw new LoupeException("Tuned lens folder " + dir + " does not exist; a lens folder holds " + CONFIG
                    + " and " + TORCH_PARAMS + " (as the Python tuned-lens library saves it)");
        }
        if (!Files.isRegularFile(configFile)) {
            throw new LoupeException(dir + " has no " + CONFIG + "; a tuned lens folder holds " + CONFIG + " and "
                    + TORCH_PARAMS);
        }
        try {
            return TunedLensConfig.fromJson(Files.readString(configFile, StandardCharsets.UTF_8), configFile.toString());
        } catch (IOException e) {
            throw new LoupeException("Cannot read " + configFile + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code config.json} and the parameters; each file is written whole or not at all. */
    static void save(TunedLens lens, Path dir, Format format) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new LoupeException("Cannot create the lens folder " + dir + ": " + e.getMessage(), e);
        }
        Map<String, NDArray> stateDict = lens.stateDict();
        if (format == Format.TORCH) {
            // What ModuleList.state_dict() records, so load_state_dict sees the same _metadata.
            Map<String, Integer> versions = new LinkedHashMap<>();
            versions.put("", 1);
            for (int layer = 0; layer < lens.numLayers(); layer++) {
                versions.put(Integer.toString(layer), 1);
            }
            TorchCheckpointWriter.write(dir.resolve(TORCH_PARAMS), stateDict, versions);
        } else {
            SafetensorsWriter.write(dir.resolve(SAFETENSORS_PARAMS), stateDict);
        }
        writeAtomically(dir.resolve(CONFIG), lens.config().toJson());
    }

    private static void writeAtomically(Path file, String text) {
        Path temp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try {
            Files.writeString(temp, text, StandardCharsets.UTF_8);
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new LoupeException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
