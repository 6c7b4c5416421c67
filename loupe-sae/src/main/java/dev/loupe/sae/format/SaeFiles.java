package dev.loupe.sae.format;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.CheckpointException;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * An SAE folder as SAELens's {@code save_model} writes it and {@code load_from_disk} reads it:
 * {@code cfg.json} and {@code sae_weights.safetensors}.
 *
 * <p>Reading casts every tensor to the config's dtype as SAELens does ({@code read_sae_components_from_disk});
 * Loupe computes in float32, so a float16 or bfloat16 SAE keeps its weights rounded to that dtype and
 * widened again. A {@code scaling_factor} of all ones is dropped; any other is refused, as SAELens 6 refuses
 * it. Every tensor of the architecture must be there with the shape the config implies, and no other.
 */
public final class SaeFiles {
    /** SAELens's file names. */
    public static final String CFG = "cfg.json";
    public static final String WEIGHTS = "sae_weights.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, DataType> DTYPES = Map.of("float32", DataType.FLOAT32,
            "float64", DataType.FLOAT64, "float16", DataType.FLOAT16, "bfloat16", DataType.BFLOAT16);

    private SaeFiles() {}

    /** What an SAE folder holds: its config and its tensors (float32, in the architecture's order). */
    public record Contents(SaeConfig cfg, Map<String, NDArray> tensors) {}

    /**
     * Reads {@code dir/cfg.json} and {@code dir/sae_weights.safetensors}.
     *
     * @param manager owns the tensors
     * @throws CheckpointException if a file is missing or malformed, naming the file and the field
     */
    public static Contents read(Path dir, NDManager manager) {
        return read(dir, null, manager);
    }

    /**
     * As {@link #read(Path, NDManager)}, with {@code cfgOverrides} set on the top level of {@code cfg.json}
     * before it is parsed, as SAELens's loaders apply a release's {@code config_overrides} (a config of
     * SAELens 6 keeps its metadata under {@code metadata}, so top-level metadata keys then change nothing, as
     * in SAELens).
     *
     * @param cfgOverrides top-level config values, or null
     */
    public static Contents read(Path dir, ObjectNode cfgOverrides, NDManager manager) {
        SaeConfig cfg = readConfig(dir.resolve(CFG), cfgOverrides);
        Path weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            throw new CheckpointException(weights + " is missing: an SAE folder holds " + CFG + " and " + WEIGHTS);
        }
        Map<String, NDArray> read = new LinkedHashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(weights)) {
            for (String name : file.names()) {
                read.put(name, file.load(name, manager));
            }
        }
        return new Contents(cfg, check(cfg, read, weights.toString()));
    }

    /** Reads and parses a {@code cfg.json} ({@link SaeConfigJson#read}). */
    public static SaeConfig readConfig(Path file) {
        return readConfig(file, null);
    }

    /** Reads a {@code cfg.json}, sets {@code cfgOverrides} (or nothing, if null) on its top level and parses it. */
    public static SaeConfig readConfig(Path file, ObjectNode cfgOverrides) {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + " is missing: an SAE folder holds " + CFG + " and " + WEIGHTS);
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new CheckpointException(file + " is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null) {
            throw new CheckpointException(file + " is empty");
        }
        if (cfgOverrides != null && root instanceof ObjectNode object) {
            object.setAll(cfgOverrides.deepCopy());
        }
        return SaeConfigJson.read(root, file.toString());
    }

    /**
     * Casts {@code tensors} to the config's dtype (and back to float32), drops an all-ones
     * {@code scaling_factor} and checks names and shapes.
     *
     * @param where the file, named in errors
     * @return the tensors in the architecture's order
     */
    public static Map<String, NDArray> check(SaeConfig cfg, Map<String, NDArray> tensors, String where) {
        DataType dtype = DTYPES.get(cfg.dtype().startsWith("torch.") ? cfg.dtype().substring(6) : cfg.dtype());
        if (dtype == null) {
            throw new CheckpointException(where + ": the config's dtype \"" + cfg.dtype() + "\" is not one of "
                    + new TreeMap<>(DTYPES).keySet() + " (or torch.<name>)");
        }
        NDArray scaling = tensors.get("scaling_factor");
        if (scaling != null) {
            NDArray asFloat = scaling.toType(DataType.FLOAT32, false);
            // torch.allclose(scaling_factor, ones): |a − 1| ≤ 1e-8 + 1e-5·1.
            if (!asFloat.sub(1f).abs().lte(1e-8f + 1e-5f).all().getBoolean()) {
                throw new CheckpointException(where + ": scaling_factor is not all ones; SAELens 6 cannot load such an"
                        + " SAE either (fold the factor into W_dec first)");
            }
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String name : cfg.architecture().tensors()) {
            NDArray tensor = tensors.get(name);
            if (tensor == null) {
                throw new CheckpointException(where + ": tensor " + name + " is missing; a " + cfg.architecture().jsonName()
                        + " SAE has " + cfg.architecture().tensors());
            }
            long[] expected = shape(cfg, name);
            if (!Arrays.equals(tensor.getShape().getShape(), expected)) {
                throw new CheckpointException(where + ": tensor " + name + " has shape " + tensor.getShape()
                        + " but the config (d_in " + cfg.dIn() + ", d_sae " + cfg.dSae() + ", d_out " + cfg.dOut()
                        + ") needs " + new Shape(expected));
            }
            if (!tensor.getDataType().isFloating()) {
                throw new CheckpointException(where + ": tensor " + name + " has dtype " + tensor.getDataType()
                        + "; SAE weights are floating point");
            }
            out.put(name, tensor.toType(dtype, false).toType(DataType.FLOAT32, false));
        }
        for (String name : tensors.keySet()) {
            if (!out.containsKey(name) && !name.equals("scaling_factor")) {
                throw new CheckpointException(where + ": unexpected tensor " + name + "; a "
                        + cfg.architecture().jsonName() + " SAE has " + cfg.architecture().tensors());
            }
        }
        return out;
    }

    /**
     * Writes {@code dir/cfg.json} and {@code dir/sae_weights.safetensors} as SAELens's {@code save_model}
     * does: the same config keys and values ({@link SaeConfigJson#toJson}) and the tensors under their
     * names, sorted by name as the safetensors library orders them. Each file goes to a temporary name first.
     */
    public static void write(Path dir, SaeConfig cfg, Map<String, NDArray> tensors) {
        Map<String, NDArray> sorted = new TreeMap<>(check(cfg, tensors, dir.resolve(WEIGHTS).toString()));
        try {
            Files.createDirectories(dir);
            SafetensorsWriter.write(dir.resolve(WEIGHTS), new LinkedHashMap<>(sorted));
            Path temp = Files.createTempFile(dir, "." + CFG, ".tmp");
            try {
                Files.writeString(temp, SaeConfigJson.toText(cfg), StandardCharsets.UTF_8);
                Files.move(temp, dir.resolve(CFG), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(temp);
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot write the SAE to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The shape of tensor {@code name} under {@code cfg}. */
    static long[] shape(SaeConfig cfg, String name) {
        return switch (name) {
            case "W_enc" -> new long[] {cfg.dIn(), cfg.dSae()};
            case "W_dec" -> new long[] {cfg.dSae(), cfg.dOut()};
            case "b_dec" -> new long[] {cfg.dOut()};
            default -> new long[] {cfg.dSae()};
        };
    }
}
