package dev.loupe.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.numeric.HugePages;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A GPT-2-small-shaped model with random weights, as a Hugging Face GPT-2 folder ({@code config.json}
 * + {@code model.safetensors}), and random token ids, both from fixed seeds.
 *
 * <p>The folder is generated once into {@code ${java.io.tmpdir}/loupe-bench-gpt2-small} and reused by
 * every later fork and run. It is built in a sibling temporary folder and renamed into place, so a
 * killed run never leaves a half-written model behind, and concurrent forks do not clash.
 */
public final class Gpt2SmallFixture {
    public static final int N_LAYERS = 12;
    public static final int D_MODEL = 768;
    public static final int N_HEADS = 12;
    public static final int D_MLP = 3072;
    public static final int D_VOCAB = 50257;
    public static final int N_CTX = 1024;

    /** Weights are N(0, 1)·0.02; biases 0; LayerNorm weights 1. */
    public static final float INIT_STD = 0.02f;
    public static final int WEIGHT_SEED = 20240611;
    public static final long TOKEN_SEED = 1234L;

    static final String CACHE_NAME = "loupe-bench-gpt2-small";

    private Gpt2SmallFixture() {}

    /**
     * The model folder to benchmark: {@code modelDir} when it is not blank, else the generated
     * GPT-2-small folder (generated now if it is not cached yet).
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
     * Prints the generated GPT-2-small folder, generating it first if it is not cached ({@code ./bench --spark}
     * hands it to loupe-spark's benchmark, whose class path has no loupe-bench).
     */
    public static void main(String[] args) {
        System.out.println(modelDir(args.length > 0 ? args[0] : null).toAbsolutePath());
    }

    /** Token ids [batch, pos], uniform in [0, vocab), from a fixed seed, owned by {@code manager}. */
    public static NDArray tokens(NDManager manager, int batch, int pos, int vocab) {
        Random random = new Random(TOKEN_SEED);
        long[] ids = new long[batch * pos];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return manager.create(ids, new Shape(batch, pos));
    }

    /** Parses a JMH shape parameter such as {@code "8x128"} into {batch, pos}. */
    public static int[] parseShape(String shape) {
        String[] parts = shape.trim().toLowerCase().split("x");
        if (parts.length != 2) {
            throw new IllegalArgumentException("shape must be BATCHxPOS, e.g. 8x128, got '" + shape + "'");
        }
        return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
    }

    static synchronized Path cachedOrGenerated(Path dir) {
        HugePages.request(); // generating makes tensors before HookedTransformer would request it
        String config = configJson();
        return FixtureFolder.cachedOrGenerated(dir, "a random GPT-2-small folder", () -> isComplete(dir, config),
                temp -> writeModel(temp, config));
    }

    private static boolean isComplete(Path dir, String expectedConfig) {
        try {
            return Files.isRegularFile(dir.resolve("model.safetensors"))
                    && Files.isRegularFile(dir.resolve("config.json"))
                    && Files.readString(dir.resolve("config.json"), StandardCharsets.UTF_8).equals(expectedConfig);
        } catch (IOException e) {
            return false;
        }
    }

    static String configJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add("GPT2LMHeadModel");
        c.put("model_type", "gpt2");
        c.put("n_layer", N_LAYERS);
        c.put("n_embd", D_MODEL);
        c.put("n_head", N_HEADS);
        c.put("n_positions", N_CTX);
        c.put("n_ctx", N_CTX);
        c.put("vocab_size", D_VOCAB);
        c.put("activation_function", "gelu_new");
        c.put("layer_norm_epsilon", 1e-5);
        c.put("tie_word_embeddings", true);
        c.put("initializer_range", INIT_STD);
        c.put("loupe_bench_weight_seed", WEIGHT_SEED);
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(c) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeModel(Path dir, String config) throws IOException {
        Engine.getInstance().setRandomSeed(WEIGHT_SEED);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> t = new LinkedHashMap<>();
            t.put("transformer.wte.weight", normal(m, D_VOCAB, D_MODEL));
            t.put("transformer.wpe.weight", normal(m, N_CTX, D_MODEL));
            for (int l = 0; l < N_LAYERS; l++) {
                String h = "transformer.h." + l + ".";
                t.put(h + "ln_1.weight", m.ones(new Shape(D_MODEL)));
                t.put(h + "ln_1.bias", m.zeros(new Shape(D_MODEL)));
                t.put(h + "attn.c_attn.weight", normal(m, D_MODEL, 3 * D_MODEL));
                t.put(h + "attn.c_attn.bias", m.zeros(new Shape(3 * D_MODEL)));
                t.put(h + "attn.c_proj.weight", normal(m, D_MODEL, D_MODEL));
                t.put(h + "attn.c_proj.bias", m.zeros(new Shape(D_MODEL)));
                t.put(h + "ln_2.weight", m.ones(new Shape(D_MODEL)));
                t.put(h + "ln_2.bias", m.zeros(new Shape(D_MODEL)));
                t.put(h + "mlp.c_fc.weight", normal(m, D_MODEL, D_MLP));
                t.put(h + "mlp.c_fc.bias", m.zeros(new Shape(D_MLP)));
                t.put(h + "mlp.c_proj.weight", normal(m, D_MLP, D_MODEL));
                t.put(h + "mlp.c_proj.bias", m.zeros(new Shape(D_MODEL)));
            }
            t.put("transformer.ln_f.weight", m.ones(new Shape(D_MODEL)));
            t.put("transformer.ln_f.bias", m.zeros(new Shape(D_MODEL)));
            SafetensorsWriter.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
        }
        Files.writeString(dir.resolve("config.json"), config, StandardCharsets.UTF_8);
    }

    private static NDArray normal(NDManager m, long... shape) {
        return m.randomNormal(0f, INIT_STD, new Shape(shape), DataType.FLOAT32);
    }

}
