package dev.loupe.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.CheckpointException;
import dev.loupe.config.WeightDtype;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.torch.TorchCheckpoint;
import dev.loupe.numeric.Float16RangeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The tensors of a Hugging Face model folder by name, from the first of: {@code model.safetensors};
 * the shards {@code model.safetensors.index.json} names; {@code pytorch_model.bin}; the shards
 * {@code pytorch_model.bin.index.json} names. PyTorch files are read by a restricted unpickler that
 * runs nothing from the file. A prefix that wraps every name (GPT-2's {@code transformer.}) may be
 * left out when asking.
 */
public final class WeightSource implements AutoCloseable {
    /** One checkpoint file, whatever its format. */
    private interface TensorFile extends AutoCloseable {
        Path path();

        List<String> names();

        boolean contains(String name);

        /** The tensor's dtype as the file spells it ({@code F32}, {@code bfloat16}, {@code I64}). */
        String dtype(String name);

        /** Whether the tensor holds floating-point numbers. */
        boolean floating(String name);

        /** The tensor's element count, from the header. */
        long numel(String name);

        /** The tensor's shape, from the header. */
        long[] shape(String name);

        /** {@link WeightSource#loadTransposed} where this file reads the tensor so itself, else empty. */
        Optional<NDArray> loadTransposed(String name, int batches, boolean half, NDManager manager);

        NDArray load(String name, NDManager manager);

        /** As float16, or {@link Float16RangeException} if float16 cannot hold one of its values. */
        NDArray loadHalf(String name, NDManager manager);

        @Override
        void close();
    }

    private final Map<String, TensorFile> fileOfTensor = new LinkedHashMap<>();
    private final List<TensorFile> files = new ArrayList<>();
    private final Set<String> read = new LinkedHashSet<>();
    private final Map<String, Float> keptInFloat32 = new LinkedHashMap<>();
    private final Path dir;
    private final WeightDtype dtype;

    private WeightSource(Path dir, WeightDtype dtype) {
        this.dir = dir;
        this.dtype = dtype;
    }

    /** Opens the weights of the model folder {@code dir}, to be kept as float32. */
    public static WeightSource open(Path dir) {
        return open(dir, WeightDtype.FLOAT32);
    }

    /** Opens the weights of the model folder {@code dir}, to be kept as {@code dtype}. */
    public static WeightSource open(Path dir, WeightDtype dtype) {
        WeightSource source = new WeightSource(dir, dtype);
        try {
            Path single = dir.resolve("model.safetensors");
            Path index = dir.resolve("model.safetensors.index.json");
            Path torch = dir.resolve("pytorch_model.bin");
            Path torchIndex = dir.resolve("pytorch_model.bin.index.json");
            if (Files.isRegularFile(single)) {
                source.add(openFile(single));
            } else if (Files.isRegularFile(index)) {
                source.addShards(index);
            } else if (Files.isRegularFile(torch)) {
                source.add(openFile(torch));
            } else if (Files.isRegularFile(torchIndex)) {
                source.addShards(torchIndex);
            } else {
                throw missing(dir);
            }
            return source;
        } catch (RuntimeException e) {
            source.close();
            throw e;
        }
    }

    private static TensorFile openFile(Path file) {
        if (file.getFileName().toString().endsWith(".safetensors")) {
            SafetensorsFile f = SafetensorsFile.open(file);
            return new TensorFile() {
                public Path path() { return f.path(); }
                public List<String> names() { return f.names(); }
                public boolean contains(String name) { return f.contains(name); }
                public String dtype(String name) { return f.info(name).dtype(); }
                public boolean floating(String name) {
                    String dtype = dtype(name);
                    return dtype.startsWith("F") || dtype.equals("BF16");
                }
                public long numel(String name) { return f.info(name).numel(); }
                public long[] shape(String name) { return f.info(name).shape(); }
                public Optional<NDArray> loadTransposed(String name, int batches, boolean half, NDManager manager) {
                    return f.readsTransposed(name, batches)
                            ? Optional.of(f.loadTransposed(name, batches, half, manager)) : Optional.empty();
                }
                public NDArray load(String name, NDManager manager) { return f.load(name, manager); }
                public NDArray loadHalf(String name, NDManager manager) { return f.loadHalf(name, manager); }
                public void close() { f.close(); }
            };
        }
        TorchCheckpoint f = TorchCheckpoint.open(file);
        return new TensorFile() {
            public Path path() { return f.path(); }
            public List<String> names() { return f.names(); }
            public boolean contains(String name) { return f.contains(name); }
            public String dtype(String name) { return f.dtype(name); }
            public boolean floating(String name) {
                String dtype = dtype(name);
                return dtype.startsWith("float") || dtype.equals("bfloat16");
            }
            public long numel(String name) { return Arrays.stream(f.shape(name)).reduce(1, Math::multiplyExact); }
            public long[] shape(String name) { return f.shape(name); }
            public Optional<NDArray> loadTransposed(String name, int batches, boolean half, NDManager manager) {
                return Optional.empty();
            }
            public NDArray load(String name, NDManager manager) { return f.load(name, manager); }
            public NDArray loadHalf(String name, NDManager manager) { return f.loadHalf(name, manager); }
            public void close() { f.close(); }
        };
    }

    private void add(TensorFile file) {
        files.add(file);
        for (String name : file.names()) {
            fileOfTensor.put(name, file);
        }
    }

    private void addShards(Path index) {
        JsonNode weightMap;
        try {
            weightMap = new ObjectMapper().readTree(index.toFile()).get("weight_map");
        } catch (IOException e) {
            throw new CheckpointException(index + " is not valid JSON: " + e.getMessage(), e);
        }
        if (weightMap == null || !weightMap.isObject()) {
            throw new CheckpointException(index + " has no \"weight_map\" object of tensor name → shard file");
        }
        Map<String, TensorFile> shards = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String shardName = entry.getValue().asText();
            TensorFile shard = shards.get(shardName);
            if (shard == null) {
                Path shardPath = dir.resolve(shardName).normalize();
                if (!shardPath.startsWith(dir.normalize()) || !Files.isRegularFile(shardPath)) {
                    throw new CheckpointException(index + " names the shard " + shardName + " for " + entry.getKey()
                            + ", which is not a file in " + dir + "; download every shard the index lists");
                }
                shard = openFile(shardPath);
                shards.put(shardName, shard);
                files.add(shard);
            }
            if (!shard.contains(entry.getKey())) {
                throw new CheckpointException("Shard " + shardName + " has no tensor " + entry.getKey()
                        + " although " + index.getFileName() + " says it does");
            }
            fileOfTensor.put(entry.getKey(), shard);
        }
    }

    private static CheckpointException missing(Path dir) {
        List<String> present = new ArrayList<>();
        try (var listing = Files.list(dir)) {
            listing.map(p -> p.getFileName().toString()).sorted().forEach(present::add);
        } catch (IOException e) {
            return new CheckpointException("Cannot list the model folder " + dir + ": " + e.getMessage(), e);
        }
        return new CheckpointException("No weights in " + dir + ": looked for model.safetensors, "
                + "model.safetensors.index.json, pytorch_model.bin and pytorch_model.bin.index.json (it holds: "
                + String.join(", ", present) + ")");
    }

    /** Whether a tensor called {@code name} exists, with or without {@code prefix}. */
    public boolean contains(String prefix, String name) {
        return fileOfTensor.containsKey(prefix + name) || fileOfTensor.containsKey(name);
    }

    /**
     * The model parameter {@code name} (looked up as {@code prefix + name}, then as {@code name}) as
     * float32 (bf16 and f16 widened), or as float16 when the weights are kept so (narrowed in chunks
     * straight into the array, every value checked; a tensor float16 cannot hold stays float32, see
     * {@link #keptInFloat32()}), owned by {@code manager}.
     *
     * @throws CheckpointException if there is no such tensor, or it is not floating point: integer
     *     and bool tensors (token ids, masks, quantized weights) are no model parameters, and in a
     *     model's matrices they would compute garbage. They stay readable through
     *     {@link SafetensorsFile} and {@link TorchCheckpoint}, for what is not a parameter.
     */
    public NDArray load(String prefix, String name, NDManager manager) {
        String key = key(prefix, name);
        TensorFile file = parameterFile(prefix, name, key);
        NDArray loaded = dtype == WeightDtype.FLOAT16 ? loadHalf(file, key, manager) : file.load(key, manager);
        markRead(key);
        return loaded;
    }

    /**
     * The matrix parameter {@code name} (looked up as {@link #load} does), stored as [batches·rows, cols], as
     * [batches, cols, rows] (each batch's rows transposed) in the weights' dtype, converted and transposed on
     * the way into the array's memory, where the file can read it so ({@link SafetensorsFile#loadTransposed}:
     * BF16, F16 and F32 safetensors matrices). In float16 a matrix float16 cannot hold is kept in float32, as
     * {@link #load} keeps it.
     *
     * @return the matrix, or empty where the file does not read it transposed (PyTorch files, float64): then
     *     {@link #load} it and transpose it
     * @throws CheckpointException as {@link #load}
     */
    public Optional<NDArray> loadTransposed(String prefix, String name, int batches, NDManager manager) {
        String key = key(prefix, name);
        TensorFile file = parameterFile(prefix, name, key);
        Optional<NDArray> loaded;
        if (dtype == WeightDtype.FLOAT16) {
            try {
                loaded = file.loadTransposed(key, batches, true, manager);
            } catch (Float16RangeException e) {
                synchronized (keptInFloat32) {
                    keptInFloat32.put(key, e.value());
                }
                loaded = file.loadTransposed(key, batches, false, manager);
            }
        } else {
            loaded = file.loadTransposed(key, batches, false, manager);
        }
        loaded.ifPresent(array -> markRead(key));
        return loaded;
    }

    /** The shape of the tensor {@code name} (looked up as {@link #load} does), from its file's header. */
    public long[] shape(String prefix, String name) {
        String key = key(prefix, name);
        return parameterFile(prefix, name, key).shape(key);
    }

    private String key(String prefix, String name) {
        return fileOfTensor.containsKey(prefix + name) ? prefix + name : name;
    }

    private void markRead(String key) {
        synchronized (read) {
            read.add(key);
        }
    }

    /** The file of the tensor {@code key}, refused unless there is one and the tensor is floating point. */
    private TensorFile parameterFile(String prefix, String name, String key) {
        TensorFile file = fileOfTensor.get(key);
        if (file == null) {
            throw new CheckpointException("The checkpoint in " + dir + " has no tensor " + prefix + name + " (looked in "
                    + files() + "); it is incomplete or is not the architecture its config.json names");
        }
        if (!file.floating(key)) {
            throw new CheckpointException(file.path() + ": tensor '" + key + "' has dtype " + file.dtype(key)
                    + ", but a model's weights must be floating point (float32, float16, bfloat16 or float64)."
                    + " The checkpoint is corrupt, quantized (Loupe does not load quantized weights) or not this"
                    + " model's weights; re-download it or export the model in a floating-point dtype.");
        }
        return file;
    }

    /**
     * The tensor narrowed to float16 a chunk at a time, with no float32 copy; or, where float16 cannot
     * hold one of its values, in float32, remembered for {@link #keptInFloat32()}: rounding it would
     * make an infinity or silence a value, and a model computes with a float32 weight just as well.
     */
    private NDArray loadHalf(TensorFile file, String key, NDManager manager) {
        try {
            return file.loadHalf(key, manager);
        } catch (Float16RangeException e) {
            synchronized (keptInFloat32) {
                keptInFloat32.put(key, e.value());
            }
            return file.load(key, manager);
        }
    }

    /**
     * The tensors loaded so far that are kept in float32 although the weights are to be kept in float16,
     * each with the value that made it so ({@link dev.loupe.numeric.Float16Narrowing}): a finite value
     * that would become infinite (magnitude 65520 or more), or a nonzero one that would become 0 in a
     * tensor whose values are all below float16's normal range. Empty for float32 weights.
     *
     * @return checkpoint name to value, in load order
     */
    public Map<String, Float> keptInFloat32() {
        synchronized (keptInFloat32) {
            return Collections.unmodifiableMap(new LinkedHashMap<>(keptInFloat32));
        }
    }

    /**
     * How many floating-point numbers the checkpoint holds, from its headers alone (no weight is read):
     * what its parameters take in memory is this times 4 bytes in float32, or 2 in float16.
     */
    public long floatingElements() {
        long elements = 0;
        for (Map.Entry<String, TensorFile> entry : fileOfTensor.entrySet()) {
            if (entry.getValue().floating(entry.getKey())) {
                elements += entry.getValue().numel(entry.getKey());
            }
        }
        return elements;
    }

    /** Every tensor name of the checkpoint, as stored (with its prefix), in file order. */
    public List<String> names() {
        return List.copyOf(fileOfTensor.keySet());
    }

    /**
     * The checkpoint's tensors that no {@link #load} has read so far, in file order: after an adapter
     * has built its state dict, these are the tensors its config does not account for.
     */
    public List<String> unread() {
        synchronized (read) {
            return fileOfTensor.keySet().stream().filter(name -> !read.contains(name)).toList();
        }
    }

    /** The weight files, for messages: each path, or the first few of many shards. */
    private String files() {
        List<String> paths = files.stream().limit(3).map(f -> f.path().toString()).toList();
        return String.join(", ", paths) + (files.size() > 3 ? " and " + (files.size() - 3) + " more shards" : "");
    }

    /** The model folder. */
    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        files.forEach(TensorFile::close);
    }
}
