package dev.loupe.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.numeric.HugePages;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Llama-shaped model with random weights (16 layers, d_model 2048, 32 query heads and 8 key/value
 * heads of 64, SwiGLU MLP of 5632, vocab 32000, RoPE θ 10000, RMSNorm ε 1e-5, untied unembedding:
 * 0.85 B parameters), as a Hugging Face Llama folder ({@code config.json} + {@code model.safetensors},
 * float32, 3.4 GB).
 *
 * <p>The folder is generated once into {@code ${java.io.tmpdir}/loupe-bench-llama-shaped} and reused
 * by every later fork and run while its {@code config.json} is unchanged. The weights are drawn and
 * written one tensor at a time (the safetensors header first, then each tensor's bytes), so
 * generating needs well under 1 GB of memory. As with {@link Gpt2SmallFixture}, the folder is built
 * in a sibling temporary folder and renamed into place; temporary folders left by killed runs are
 * deleted on the next generation.
 */
public final class LlamaShapedFixture {
    public static final int N_LAYERS = 16;
    public static final int D_MODEL = 2048;
    public static final int N_HEADS = 32;
    public static final int N_KV_HEADS = 8;
    public static final int D_HEAD = 64;
    public static final int D_MLP = 5632;
    public static final int D_VOCAB = 32000;
    public static final int N_CTX = 2048;
    public static final double ROPE_THETA = 10000.0;
    public static final double RMS_NORM_EPS = 1e-5;

    /** Weights are N(0, 1)·0.02; RMSNorm weights 1. */
    public static final float INIT_STD = 0.02f;
    public static final int WEIGHT_SEED = 20240612;

    static final String CACHE_NAME = "loupe-bench-llama-shaped";

    private LlamaShapedFixture() {}

    /** One tensor of the checkpoint: its name, its shape, and whether it is a norm weight (all ones). */
    record TensorSpec(String name, long[] shape, boolean ones) implements SafetensorsHeaderBytes.Entry {
        long elements() {
            return Arrays.stream(shape).reduce(1, Math::multiplyExact);
        }

        @Override
        public long bytes() {
            return 4 * elements();
        }
    }

    /**
     * The model folder to benchmark: {@code modelDir} when it is not blank, else the generated
     * Llama-shaped folder (generated now if it is not cached yet; ~20 s and 3.4 GB of disk).
     */
    public static Path modelDir(String modelDir) {
        if (modelDir != null && !modelDir.isBlank()) {
            Path dir = Path.of(modelDir);
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                throw new IllegalArgumentException("modelDir " + dir.toAbsolutePath()
                        + " is not a Hugging Face model folder (no config.json)");
            }
            return dir;
        }
        return cachedOrGenerated(Path.of(System.getProperty("java.io.tmpdir"), CACHE_NAME));
    }

    /**
     * Multiply-accumulate weights of the layers' matMuls per token (q, k, v, o projections and the
     * gate, up and down projections), as in the FLOP model of {@link Report}.
     */
    public static long layerMatMulParams(long layers, long dModel, long nHeads, long nKvHeads, long dHead,
            long dMlp) {
        return layers * (dModel * (nHeads * dHead) + 2 * dModel * (nKvHeads * dHead) + (nHeads * dHead) * dModel
                + 3 * dModel * dMlp);
    }

    /** The checkpoint's tensors, in file order, with Hugging Face Llama names and [out, in] shapes. */
    static List<TensorSpec> tensors() {
        List<TensorSpec> t = new ArrayList<>();
        t.add(new TensorSpec("model.embed_tokens.weight", new long[] {D_VOCAB, D_MODEL}, false));
        long q = (long) N_HEADS * D_HEAD;
        long kv = (long) N_KV_HEADS * D_HEAD;
        for (int l = 0; l < N_LAYERS; l++) {
            String p = "model.layers." + l + ".";
            t.add(new TensorSpec(p + "input_layernorm.weight", new long[] {D_MODEL}, true));
            t.add(new TensorSpec(p + "self_attn.q_proj.weight", new long[] {q, D_MODEL}, false));
            t.add(new TensorSpec(p + "self_attn.k_proj.weight", new long[] {kv, D_MODEL}, false));
            t.add(new TensorSpec(p + "self_attn.v_proj.weight", new long[] {kv, D_MODEL}, false));
            t.add(new TensorSpec(p + "self_attn.o_proj.weight", new long[] {D_MODEL, q}, false));
            t.add(new TensorSpec(p + "post_attention_layernorm.weight", new long[] {D_MODEL}, true));
            t.add(new TensorSpec(p + "mlp.gate_proj.weight", new long[] {D_MLP, D_MODEL}, false));
            t.add(new TensorSpec(p + "mlp.up_proj.weight", new long[] {D_MLP, D_MODEL}, false));
            t.add(new TensorSpec(p + "mlp.down_proj.weight", new long[] {D_MODEL, D_MLP}, false));
        }
        t.add(new TensorSpec("model.norm.weight", new long[] {D_MODEL}, true));
        t.add(new TensorSpec("lm_head.weight", new long[] {D_VOCAB, D_MODEL}, false));
        return t;
    }

    static String configJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("hidden_size", D_MODEL);
        c.put("intermediate_size", D_MLP);
        c.put("num_hidden_layers", N_LAYERS);
        c.put("num_attention_heads", N_HEADS);
        c.put("num_key_value_heads", N_KV_HEADS);
        c.put("head_dim", D_HEAD);
        c.put("max_position_embeddings", N_CTX);
        c.put("rms_norm_eps", RMS_NORM_EPS);
        c.put("rope_theta", ROPE_THETA);
        c.putNull("rope_scaling");
        c.put("vocab_size", D_VOCAB);
        c.put("tie_word_embeddings", false);
        c.put("hidden_act", "silu");
        c.put("attention_bias", false);
        c.put("mlp_bias", false);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", "float32");
        c.put("initializer_range", INIT_STD);
        c.put("loupe_bench_weight_seed", WEIGHT_SEED);
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(c) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The safetensors header (JSON padded with spaces to a multiple of 8 bytes) for {@code specs}. */
    static byte[] safetensorsHeader(List<TensorSpec> specs) {
        return SafetensorsHeaderBytes.of("F32", specs);
    }

    /** The exact size of {@code model.safetensors}: length prefix, header, data. */
    static long safetensorsSize() {
        List<TensorSpec> specs = tensors();
        return 8L + safetensorsHeader(specs).length + specs.stream().mapToLong(TensorSpec::bytes).sum();
    }

    static synchronized Path cachedOrGenerated(Path dir) {
        HugePages.request(); // generating makes tensors before HookedTransformer would request it
        String config = configJson();
        return FixtureFolder.cachedOrGenerated(dir, "the Llama-shaped folder", () -> isComplete(dir, config), temp -> {
            System.err.printf("[loupe-bench] generating a random Llama-shaped model (%.1f GB float32) into %s%n",
                    safetensorsSize() / 1e9, dir);
            writeModel(temp, config);
        });
    }

    private static boolean isComplete(Path dir, String expectedConfig) {
        try {
            Path weights = dir.resolve("model.safetensors");
            return Files.isRegularFile(weights)
                    && Files.size(weights) == safetensorsSize()
                    && Files.isRegularFile(dir.resolve("config.json"))
                    && Files.readString(dir.resolve("config.json"), StandardCharsets.UTF_8).equals(expectedConfig);
        } catch (IOException e) {
            return false;
        }
    }

    /** Streams the checkpoint to {@code dir/model.safetensors}, one tensor in memory at a time. */
    private static void writeModel(Path dir, String config) throws IOException {
        List<TensorSpec> specs = tensors();
        byte[] header = safetensorsHeader(specs);
        Engine.getInstance().setRandomSeed(WEIGHT_SEED);
        try (FileChannel out = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            length.putLong(0, header.length);
            writeFully(out, length);
            writeFully(out, ByteBuffer.wrap(header));
            for (TensorSpec spec : specs) {
                try (NDManager m = NDManager.newBaseManager()) {
                    Shape shape = new Shape(spec.shape());
                    NDArray array = spec.ones() ? m.ones(shape, DataType.FLOAT32)
                            : m.randomNormal(0f, INIT_STD, shape, DataType.FLOAT32);
                    writeFully(out, littleEndian(array.toByteBuffer(), spec));
                }
            }
        }
        Files.writeString(dir.resolve("config.json"), config, StandardCharsets.UTF_8);
    }

    private static ByteBuffer littleEndian(ByteBuffer data, TensorSpec spec) {
        if (data.remaining() != spec.bytes()) {
            throw new IllegalStateException("DJL returned " + data.remaining() + " bytes for " + spec.name()
                    + ", expected " + spec.bytes());
        }
        if (data.order() == ByteOrder.LITTLE_ENDIAN) {
            return data;
        }
        ByteBuffer swapped = ByteBuffer.allocateDirect(data.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        swapped.asFloatBuffer().put(data.asFloatBuffer());
        return swapped;
    }

    private static void writeFully(FileChannel channel, ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            channel.write(data);
        }
    }


}
