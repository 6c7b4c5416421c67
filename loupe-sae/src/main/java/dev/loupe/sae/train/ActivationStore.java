package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Activations stored on disk, so that several SAEs train on the same activations without running the model
 * again ({@link StoredActivations} reads them). A folder with:
 * <ul>
 * <li>{@code shard_00000.safetensors}, {@code shard_00001.safetensors}, …: each one float32 tensor
 *     {@code activations} [tokens, d_in], in the order harvested;</li>
 * <li>{@code manifest.json}: {@code {"format": "loupe-activations", "version": 1, "hook_name": …, "d_in": …,
 *     "dtype": "float32", "tokens_per_shard": …, "total_tokens": …, "shards": [{"file": …, "tokens": …}, …]}}
 *     (every shard holds {@code tokens_per_shard} tokens but the last), written last.</li>
 * </ul>
 * Another harvester (one per machine, say) may write the same format: shards in any number, each listed in the
 * manifest with its token count.
 */
public final class ActivationStore {
    /** The manifest's file name. */
    public static final String MANIFEST = "manifest.json";
    /** The manifest's {@code format}. */
    public static final String FORMAT = "loupe-activations";
    /** The tensor of every shard. */
    public static final String TENSOR = "activations";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ActivationStore() {}

    /** One shard: its file (relative to the folder) and how many activations it holds. */
    public record Shard(String file, long tokens) {}

    /** A store's manifest. */
    public record Manifest(String hookName, int dIn, long tokensPerShard, List<Shard> shards) {
        /** Every activation of the store. */
        public long totalTokens() {
            return shards.stream().mapToLong(Shard::tokens).sum();
        }
    }

    /**
     * Writes {@code tokens} activations from {@code source} (in its order) into {@code dir} as shards of
     * {@code tokensPerShard}, and the manifest last.
     */
    public static Manifest write(Path dir, ActivationSource source, String hookName, long tokens, int tokensPerShard) {
        if (tokens <= 0 || tokensPerShard <= 0) {
            throw new LoupeException("A store needs tokens > 0 and tokens per shard > 0, got " + tokens + " and "
                    + tokensPerShard);
        }
        List<Shard> shards = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            Files.createDirectories(dir);
            NDArray pending = null; // harvested, not yet written [rows, d_in]
            long written = 0;
            while (written < tokens) {
                long want = Math.min(tokensPerShard, tokens - written);
                try (NDManager scratch = manager.newSubManager()) { // frees each shard's chunks
                    if (pending != null) {
                        pending.attach(scratch);
                    }
                    while (pending == null || pending.getShape().get(0) < want) {
                        NDArray chunk = source.next(scratch);
                        pending = pending == null ? chunk : pending.concat(chunk, 0);
                    }
                    String file = String.format(Locale.ROOT, "shard_%05d.safetensors", shards.size());
                    SafetensorsWriter.write(dir.resolve(file), Map.of(TENSOR, pending.get(new NDIndex(":" + want))));
                    NDArray rest = pending.get(new NDIndex(want + ":")).duplicate();
                    rest.attach(manager);
                    pending = rest;
                    shards.add(new Shard(file, want));
                }
                written += want;
            }
        } catch (IOException e) {
            throw new LoupeException("Cannot write the activation store " + dir + ": " + e.getMessage(), e);
        }
        Manifest manifest = new Manifest(hookName, source.dIn(), tokensPerShard, List.copyOf(shards));
        writeManifest(dir, manifest);
        return manifest;
    }

    /**
     * Writes {@code dir/manifest.json} for shards already in {@code dir} (atomically; after every shard, so that a
     * store with a manifest is complete): for harvesters that write the shards themselves.
     */
    public static void writeManifest(Path dir, Manifest manifest) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("format", FORMAT);
        json.put("version", 1);
        json.put("hook_name", manifest.hookName());
        json.put("d_in", manifest.dIn());
        json.put("dtype", "float32");
        json.put("tokens_per_shard", manifest.tokensPerShard());
        json.put("total_tokens", manifest.totalTokens());
        json.put("shards", manifest.shards().stream().map(s -> Map.of("file", s.file(), "tokens", s.tokens())).toList());
        try {
            AtomicFiles.writeString(dir.resolve(MANIFEST), JSON.writeValueAsString(json));
        } catch (IOException e) {
            throw new LoupeException("Cannot write " + dir.resolve(MANIFEST) + ": " + e.getMessage(), e);
        }
    }

    /** Reads and checks {@code dir/manifest.json}. */
    public static Manifest read(Path dir) {
        Path file = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + " is missing: an activation store holds " + MANIFEST
                    + " and its shards (written by ActivationStore.write)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file + " is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !FORMAT.equals(root.path("format").asText()) || !"float32".equals(root.path("dtype").asText())
                || !root.path("d_in").canConvertToInt() || root.path("d_in").asInt() <= 0
                || !root.path("shards").isArray() || root.path("shards").isEmpty()) {
            throw new CheckpointException(file + " is not a float32 " + FORMAT + " manifest with d_in and shards");
        }
        List<Shard> shards = new ArrayList<>();
        for (JsonNode s : root.path("shards")) {
            String name = s.path("file").asText("");
            if (name.isEmpty() || Path.of(name).isAbsolute() || name.contains("..") || s.path("tokens").asLong() <= 0) {
                throw new CheckpointException(file + ": a shard needs a file inside the folder and tokens > 0, got " + s);
            }
            shards.add(new Shard(name, s.path("tokens").asLong()));
        }
        return new Manifest(root.path("hook_name").asText(), root.path("d_in").asInt(),
                root.path("tokens_per_shard").asLong(), List.copyOf(shards));
    }
}
