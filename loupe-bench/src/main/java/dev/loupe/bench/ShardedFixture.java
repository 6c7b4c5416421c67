package dev.loupe.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Writes a {@link BigShape} as a Hugging Face folder of bfloat16 safetensors shards
 * ({@code model-0000i-of-0000n.safetensors}), {@code model.safetensors.index.json} and
 * {@code config.json}, with random weights from a fixed seed.
 *
 * <p>Writing streams: each shard's header goes first (the sizes are known in advance), then each
 * tensor in slices of {@link #CHUNK_ELEMENTS} numbers drawn as float32 by libtorch and rounded to
 * bfloat16 here, so a 5 GB model is written with about 100 MB of memory. A tensor never spans two
 * shards, as in Hugging Face's own checkpoints.
 */
final class ShardedFixture {
    /** Hugging Face splits at 5 GB; smaller shards give the loader several files to open even for 2B. */
    static final long SHARD_BYTES = 2L << 30;
    private static final int CHUNK_ELEMENTS = 1 << 24;
    static final String INDEX = "model.safetensors.index.json";

    private ShardedFixture() {}

    /** One shard: its file name and tensors. */
    record Shard(String file, List<BigShape.Tensor> tensors) {
        long dataBytes() {
            return tensors.stream().mapToLong(BigShape.Tensor::bytes).sum();
        }

        /** The exact file size: length prefix, header, data. */
        long fileBytes() {
            return 8L + header(tensors).length + dataBytes();
        }
    }

    /** The folder of {@code shape} under {@code base}, written now unless a complete one is there. */
    static synchronized Path cachedOrGenerated(Path base, BigShape shape, long shardBytes) {
        Path dir = base.resolve("loupe-bench-" + shape.name());
        List<Shard> shards = shards(shape, shardBytes);
        String config = shape.configJson();
        return FixtureFolder.cachedOrGenerated(dir, "the " + shape.name() + " folder", () -> isComplete(dir, shards, config),
                temp -> {
                    System.err.printf(Locale.ROOT, "[loupe-bench] writing a random %s (%.1f GB bfloat16, %d shards)"
                            + " into %s%n", shape.describe(), shards.stream().mapToLong(Shard::fileBytes).sum() / 1e9,
                            shards.size(), dir);
                    write(temp, shape, shards, config);
                });
    }

    /** The tensors of {@code shape} cut into shards of at most {@code shardBytes} (or one tensor, if larger). */
    static List<Shard> shards(BigShape shape, long shardBytes) {
        List<List<BigShape.Tensor>> groups = new ArrayList<>();
        List<BigShape.Tensor> current = new ArrayList<>();
        long bytes = 0;
        for (BigShape.Tensor t : shape.tensors()) {
            if (!current.isEmpty() && bytes + t.bytes() > shardBytes) {
                groups.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(t);
            bytes += t.bytes();
        }
        groups.add(current);
        List<Shard> shards = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, groups.size());
            shards.add(new Shard(file, groups.get(i)));
        }
        return shards;
    }

    static boolean isComplete(Path dir, List<Shard> shards, String config) {
        try {
            if (!Files.isRegularFile(dir.resolve(INDEX)) || !Files.isRegularFile(dir.resolve("config.json"))
                    || !Files.readString(dir.resolve("config.json"), StandardCharsets.UTF_8).equals(config)) {
                return false;
            }
            for (Shard shard : shards) {
                Path file = dir.resolve(shard.file());
                if (!Files.isRegularFile(file) || Files.size(file) != shard.fileBytes()) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Writes the shards, the index and (last, as the mark of a whole folder) config.json into {@code dir}. */
    static void write(Path dir, BigShape shape, List<Shard> shards, String config) throws IOException {
        Engine.getInstance().setRandomSeed(BigShape.WEIGHT_SEED);
        ByteBuffer half = ByteBuffer.allocateDirect(2 * CHUNK_ELEMENTS).order(ByteOrder.LITTLE_ENDIAN);
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", shards.stream().mapToLong(Shard::dataBytes).sum());
        ObjectNode weightMap = index.putObject("weight_map");
        for (Shard shard : shards) {
            try (FileChannel out = FileChannel.open(dir.resolve(shard.file()), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                byte[] header = header(shard.tensors());
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                length.putLong(0, header.length);
                writeFully(out, length);
                writeFully(out, ByteBuffer.wrap(header));
                for (BigShape.Tensor t : shard.tensors()) {
                    writeTensor(out, t, half);
                    weightMap.put(t.name(), shard.file());
                }
            }
        }
        Files.writeString(dir.resolve(INDEX), json.writerWithDefaultPrettyPrinter().writeValueAsString(index) + "\n",
                StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("config.json"), config, StandardCharsets.UTF_8);
    }

    private static void writeTensor(FileChannel out, BigShape.Tensor t, ByteBuffer half) throws IOException {
        long left = t.elements();
        while (left > 0) {
            int n = (int) Math.min(left, CHUNK_ELEMENTS);
            half.clear().limit(2 * n);
            if (t.fill() != null) {
                short bits = bfloat16(t.fill());
                for (int i = 0; i < n; i++) {
                    half.putShort(2 * i, bits);
                }
            } else {
                try (NDManager m = NDManager.newBaseManager()) {
                    NDArray draw = m.randomNormal(0f, BigShape.INIT_STD, new Shape(n), DataType.FLOAT32);
                    FloatBuffer floats = draw.toByteBuffer().asFloatBuffer();
                    for (int i = 0; i < n; i++) {
                        half.putShort(2 * i, bfloat16(floats.get(i)));
                    }
                }
            }
            writeFully(out, half);
            left -= n;
        }
    }

    /** float32 to bfloat16, rounding to nearest even (the numbers here are finite). */
    static short bfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** The safetensors header of {@code tensors} (JSON padded with spaces to a multiple of 8 bytes). */
    static byte[] header(List<BigShape.Tensor> tensors) {
        return SafetensorsHeaderBytes.of("BF16", tensors);
    }

    private static void writeFully(FileChannel channel, ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            channel.write(data);
        }
    }
}
