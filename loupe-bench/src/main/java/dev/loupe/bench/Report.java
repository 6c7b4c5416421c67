package dev.loupe.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Prints a JMH JSON result file ({@code -rf json}) of the Loupe suite as a table: time per op,
 * GFLOP/s, % of the 4096³ matMul ceiling measured in the same file, the cost of caching and of a
 * hook relative to a plain forward of the same shape, and the performance targets.
 *
 * <p>FLOP model per token: {@code 24·d²·L + 4·T·d·L + 2·d·V}, times batch·pos tokens, with d the
 * model width, L the layers, T the positions and V the vocabulary. This is the usual transformer
 * arithmetic, counting a multiply-add as 2 FLOP and only the matrix products: each layer's query,
 * key, value and output projections hold 4·d² weights and its MLP (d → 4d → d) 8·d², so
 * {@code 24·d²} per layer; each token's attention scores (q·k) and mixing (weights·v) over T
 * positions take {@code 2·T·d} multiply-adds, so {@code 4·T·d} (all T positions, not the causal
 * average T/2); the unembedding takes {@code 2·d·V}. Layer norms, softmax, GELU and the embedding
 * lookup are left out. The matMul counts {@code 2·4096³}. The model dimensions are GPT-2 small's
 * unless the run's {@code modelDir} parameter names a folder whose {@code config.json} says otherwise.
 *
 * <p>The Llama-shaped forward ({@link LlamaForwardBench}) uses its own FLOP model per token:
 * {@code 2·(layers' matMul weights) + 4·T·(n_heads·d_head)·L + 2·d·V}, where the layers' matMul weights
 * are {@code L·(d·n_heads·d_head + 2·d·n_kv·d_head + n_heads·d_head·d + 3·d·d_mlp)} (grouped-query
 * attention and a gated MLP); it also reports tokens/s.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.bench.Report [jmh-result.json] [--markdown OUT.md]
 * [--previous EARLIER.json]}: prints the table, and with {@code --markdown} also writes it as Markdown
 * ({@link MarkdownReport}), with an earlier run's figures beside the new ones when {@code --previous}
 * names that run's result file. Exits 2 if a file cannot be read.
 */
public final class Report {
    /** A forward's share of the matMul ceiling, by shape (issue 18: TransformerLens runs at 75–80 % of its own). */
    static final Map<String, Double> CEILING_TARGETS = Map.of("8x128", 0.80, "1x128", 0.70);
    static final double CACHE_RATIO_TARGET = 1.10;
    static final double ABLATION_RATIO_TARGET = 1.03;
    static final double LOAD_TARGET_MS = 1000;

    private static final String FORWARD = "forward";
    private static final String CACHE = "runWithCacheAllHooks";
    private static final String ABLATION = "runWithHooksZeroAblation";
    private static final String MATMUL = "matMulCeiling";
    private static final String LOAD = "loadModel";
    private static final String HALF_WEIGHTS = "forwardHalfWeights";
    private static final String LOUPE_TOKENIZE = "loupeToTokens";
    private static final String DJL_TOKENIZE = "djlEncode";
    static final double TOKENIZER_TARGET = 0.90;
    private static final String LLAMA_FORWARD = "llamaForward";
    static final double LLAMA_CEILING_TARGET = 0.65;
    private static final String GENERATE_CACHED = "generate32Cached";
    private static final String GENERATE_UNCACHED = "generate32Uncached";
    private static final String FORWARD_ONE_TOKEN = "forwardOneToken";
    private static final String FIRST_STEPS = "cachedStepsFirst32";
    private static final String LAST_STEPS = "cachedStepsLast32Of256";
    private static final String LENS_TRAINING = "trainSteps";
    static final double LENS_TOKENS_PER_SECOND_TARGET = 40;
    static final double LENS_PEAK_RSS_TARGET_MB = 3 * 1024;
    /** TransformerLens's generate on this machine, GPT-2 small, 16-token prompt, 32 new tokens (issue 8). */
    static final double TL_GENERATE_CACHED_MS = 2000;
    static final double TL_GENERATE_UNCACHED_MS = 3400;
    static final double GENERATE_SPEEDUP_TARGET = 1.5;
    static final double CACHED_STEP_TARGET = 1.15;
    static final double LAST_STEPS_TARGET = 1.25;

    /** One benchmark result. */
    record Row(String method, String shape, String modelDir, String mode, double ms, double errorMs, int samples) {}

    /**
     * One row with what the report derives from it: GFLOP/s, % of the ceiling, the fixed overhead (time
     * minus the time its matrix products take at the ceiling's rate), its ratio to another row, and its
     * target; {@code met} is null where the row has no target.
     */
    record Result(Row row, Double gflops, Double percent, Double ratio, Double overheadMs, String target, Boolean met,
            String miss) {
        String status() {
            return met == null ? "" : met ? "met" : "MISSED";
        }
    }

    /** The results of one run and its matMul ceiling in GFLOP/s (null when the run has none). */
    record Evaluation(List<Result> results, Double ceilingGflops) {}

    /** The dimensions the FLOP model needs. */
    record Dims(long layers, long dModel, long vocab) {
        static final Dims GPT2_SMALL = new Dims(Gpt2SmallFixture.N_LAYERS, Gpt2SmallFixture.D_MODEL,
                Gpt2SmallFixture.D_VOCAB);

        double flopsPerToken(long pos) {
            return 24.0 * dModel * dModel * layers + 4.0 * pos * dModel * layers + 2.0 * dModel * vocab;
        }
    }

    /** The dimensions of the Llama FLOP model. */
    record LlamaDims(long layers, long dModel, long nHeads, long nKvHeads, long dHead, long dMlp, long vocab) {
        static final LlamaDims LLAMA_SHAPED = new LlamaDims(LlamaShapedFixture.N_LAYERS, LlamaShapedFixture.D_MODEL,
                LlamaShapedFixture.N_HEADS, LlamaShapedFixture.N_KV_HEADS, LlamaShapedFixture.D_HEAD,
                LlamaShapedFixture.D_MLP, LlamaShapedFixture.D_VOCAB);

        double flopsPerToken(long pos) {
            return 2.0 * LlamaShapedFixture.layerMatMulParams(layers, dModel, nHeads, nKvHeads, dHead, dMlp)
                    + 4.0 * pos * (nHeads * dHead) * layers + 2.0 * dModel * vocab;
        }
    }

    /** Steps timed by each of the cached-step benchmarks. */
    private static final int NEW_STEPS = GenerateBench.NEW_TOKENS;

    private Report() {}

    public static void main(String[] args) throws IOException {
        Path file = Path.of("jmh-result.json");
        Path previous = null;
        Path markdown = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--previous" -> previous = Path.of(argument(args, ++i, "--previous"));
                case "--markdown" -> markdown = Path.of(argument(args, ++i, "--markdown"));
                default -> file = Path.of(args[i]);
            }
        }
        List<Row> rows = read(file);
        System.out.print(render(rows, file.toString()));
        if (markdown != null) {
            List<Row> before = previous == null ? null : read(previous);
            Files.writeString(markdown, MarkdownReport.render(evaluate(rows), file.toString(),
                    before == null ? null : evaluate(before), previous == null ? null : previous.toString()));
            System.out.println("Markdown table: " + markdown + (previous == null ? "" : " (with " + previous + "'s figures)"));
        }
    }

    private static String argument(String[] args, int index, String option) {
        if (index >= args.length) {
            System.err.println(option + " needs a file");
            System.exit(2);
        }
        return args[index];
    }

    private static List<Row> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            System.err.println("No JMH result file " + file.toAbsolutePath() + " (run ./bench, or JMH with -rf json)");
            System.exit(2);
        }
        return parse(new ObjectMapper().readTree(file.toFile()));
    }

    static List<Row> parse(JsonNode root) {
        List<Row> rows = new ArrayList<>();
        for (JsonNode result : root) {
            String benchmark = result.path("benchmark").asText();
            String method = benchmark.substring(benchmark.lastIndexOf('.') + 1);
            JsonNode params = result.path("params");
            JsonNode metric = result.path("primaryMetric");
            double scale = toMillis(metric.path("scoreUnit").asText("ms/op"));
            double error = metric.path("scoreError").asDouble(Double.NaN);
            int samples = 0;
            for (JsonNode fork : metric.path("rawData")) {
                samples += fork.size();
            }
            rows.add(new Row(method, params.path("shape").asText(""), params.path("modelDir").asText(""),
                    result.path("mode").asText(), metric.path("score").asDouble() * scale,
                    Double.isNaN(error) ? Double.NaN : error * scale, samples));
        }
        return rows;
    }

    /** Every row with its derived figures and its target, and the run's matMul ceiling (null if not run). */
    static Evaluation evaluate(List<Row> rows) {
        Double ceilingGflops = null;
        for (Row row : rows) {
            if (row.method().equals(MATMUL)) {
                ceilingGflops = 2.0 * Math.pow(MatMulBench.N, 3) / (row.ms() / 1e3) / 1e9;
            }
        }
        Row djlTokenize = find(rows, DJL_TOKENIZE);
        Row oneToken = find(rows, FORWARD_ONE_TOKEN);
        Row firstSteps = find(rows, FIRST_STEPS);
        Map<String, Row> forwards = new LinkedHashMap<>();
        for (Row row : rows) {
            if (row.method().equals(FORWARD)) {
                forwards.put(key(row), row);
            }
        }
        List<Result> results = new ArrayList<>();
        for (Row row : rows) {
            Double flops = flops(row);
            Double gflops = flops == null ? null : flops / (row.ms() / 1e3) / 1e9;
            Double percent = gflops != null && ceilingGflops != null ? 100 * gflops / ceilingGflops : null;
            Row forward = forwards.get(key(row));
            Double ratio = forward != null && (row.method().equals(CACHE) || row.method().equals(ABLATION)
                    || row.method().equals(HALF_WEIGHTS)) ? row.ms() / forward.ms() : null;
            String target = "";
            Boolean met = null;
            String miss = null;
            switch (row.method()) {
                case FORWARD -> {
                    Double share = CEILING_TARGETS.get(row.shape());
                    if (share != null) {
                        target = String.format(Locale.ROOT, "≥ %.0f %% of ceiling", 100 * share);
                        if (percent != null) {
                            met = percent >= 100 * share;
                            double neededMs = row.ms() * percent / (100 * share);
                            miss = String.format(Locale.ROOT,
                                    "forward %s: %.1f %% of ceiling, target ≥ %.0f %% (%.1f points short; needs ≤ %.0f ms,"
                                    + " i.e. %.2f× faster)", row.shape(), percent, 100 * share,
                                    100 * share - percent, neededMs, row.ms() / neededMs);
                        }
                    }
                }
                case CACHE, ABLATION -> {
                    double limit = row.method().equals(CACHE) ? CACHE_RATIO_TARGET : ABLATION_RATIO_TARGET;
                    target = String.format(Locale.ROOT, "≤ %.2f× forward", limit);
                    if (ratio != null) {
                        met = ratio <= limit;
                        miss = String.format(Locale.ROOT, "%s %s: %.3f× forward, target ≤ %.2f× (%.1f %% over;"
                                + " %.0f ms vs forward %.0f ms, allowed %.0f ms)", row.method(), row.shape(), ratio,
                                limit, 100 * (ratio / limit - 1), row.ms(), forward.ms(), limit * forward.ms());
                    }
                }
                case LOUPE_TOKENIZE -> {
                    target = String.format(Locale.ROOT, "≥ %.0f %% of DJL tokens/s", 100 * TOKENIZER_TARGET);
                    if (djlTokenize != null) {
                        double share = djlTokenize.ms() / row.ms();
                        met = share >= TOKENIZER_TARGET;
                        miss = String.format(Locale.ROOT, "toTokens keeps %.1f %% of DJL's tokens/s, target ≥ %.0f %%",
                                100 * share, 100 * TOKENIZER_TARGET);
                    }
                }
                case LLAMA_FORWARD -> {
                    target = String.format(Locale.ROOT, "≥ %.0f %% of ceiling", 100 * LLAMA_CEILING_TARGET);
                    if (percent != null) {
                        met = percent >= 100 * LLAMA_CEILING_TARGET;
                        double neededMs = row.ms() * percent / (100 * LLAMA_CEILING_TARGET);
                        miss = String.format(Locale.ROOT,
                                "llamaForward %s: %.1f %% of ceiling, target ≥ %.0f %% (%.1f points short; needs ≤ %.0f"
                                + " ms, i.e. %.2f× faster)", row.shape(), percent, 100 * LLAMA_CEILING_TARGET,
                                100 * LLAMA_CEILING_TARGET - percent, neededMs, row.ms() / neededMs);
                    }
                }
                case LOAD -> {
                    target = String.format(Locale.ROOT, "≤ %.0f ms", LOAD_TARGET_MS);
                    met = row.ms() <= LOAD_TARGET_MS;
                    miss = String.format(Locale.ROOT, "loadModel: %.0f ms, target ≤ %.0f ms (%.0f ms, %.0f %% over)",
                            row.ms(), LOAD_TARGET_MS, row.ms() - LOAD_TARGET_MS, 100 * (row.ms() / LOAD_TARGET_MS - 1));
                }
                case GENERATE_CACHED, GENERATE_UNCACHED -> {
                    boolean cached = row.method().equals(GENERATE_CACHED);
                    double tl = cached ? TL_GENERATE_CACHED_MS : TL_GENERATE_UNCACHED_MS;
                    ratio = tl / row.ms();
                    if (cached) {
                        target = String.format(Locale.ROOT, "≥ %.1f× TL (%.0f ms)", GENERATE_SPEEDUP_TARGET, tl);
                        met = ratio >= GENERATE_SPEEDUP_TARGET;
                        miss = String.format(Locale.ROOT, "generate32Cached: %.0f ms = %.2f× faster than"
                                + " TransformerLens's %.0f ms, target ≥ %.1f×", row.ms(), ratio, tl,
                                GENERATE_SPEEDUP_TARGET);
                    } else {
                        target = String.format(Locale.ROOT, "(TL: %.0f ms)", tl);
                    }
                }
                case FIRST_STEPS -> {
                    target = String.format(Locale.ROOT, "step ≤ %.2f× 1-token fwd", CACHED_STEP_TARGET);
                    if (oneToken != null) {
                        ratio = row.ms() / NEW_STEPS / oneToken.ms();
                        met = ratio <= CACHED_STEP_TARGET;
                        miss = String.format(Locale.ROOT, "a cached step costs %.3f× a 1-token forward (%.1f vs %.1f"
                                + " ms), target ≤ %.2f×", ratio, row.ms() / NEW_STEPS, oneToken.ms(), CACHED_STEP_TARGET);
                    }
                }
                case LAST_STEPS -> {
                    target = String.format(Locale.ROOT, "≤ %.2f× first 32 steps", LAST_STEPS_TARGET);
                    if (firstSteps != null) {
                        ratio = row.ms() / firstSteps.ms();
                        met = ratio <= LAST_STEPS_TARGET;
                        miss = String.format(Locale.ROOT, "the last 32 of 256 steps cost %.3f× the first 32 (%.0f vs"
                                + " %.0f ms), target ≤ %.2f×", ratio, row.ms(), firstSteps.ms(), LAST_STEPS_TARGET);
                    }
                }
                case LENS_TRAINING -> {
                    double tokensPerSecond = LensTrainingBench.TOKENS_PER_OP / (row.ms() / 1e3);
                    target = String.format(Locale.ROOT, "≥ %.0f tokens/s", LENS_TOKENS_PER_SECOND_TARGET);
                    met = tokensPerSecond >= LENS_TOKENS_PER_SECOND_TARGET;
                    miss = String.format(Locale.ROOT, "tuned-lens training: %.1f tokens/s, target ≥ %.0f",
                            tokensPerSecond, LENS_TOKENS_PER_SECOND_TARGET);
                }
                default -> { }
            }
            Double overheadMs = flops != null && ceilingGflops != null && !row.method().equals(MATMUL)
                    ? row.ms() - flops / (ceilingGflops * 1e6) : null;
            results.add(new Result(row, gflops, percent, ratio, overheadMs, target, met, miss));
        }
        return new Evaluation(results, ceilingGflops);
    }

    static String render(List<Row> rows, String source) {
        Evaluation evaluation = evaluate(rows);
        Double ceilingGflops = evaluation.ceilingGflops();
        Row djlTokenize = find(rows, DJL_TOKENIZE);
        StringBuilder out = new StringBuilder();
        out.append("Loupe benchmarks (").append(source).append(")\n");
        String header = String.format(Locale.ROOT, "%-26s %-7s %-4s %19s %8s %9s %11s %10s  %-24s %s",
                "benchmark", "params", "mode", "ms/op (± 99.9% CI)", "GFLOP/s", "% ceiling", "overhead ms", "ratio",
                "target", "status");
        out.append(header).append('\n').append("-".repeat(header.length() + 8)).append('\n');
        List<String> misses = new ArrayList<>();
        for (Result result : evaluation.results()) {
            Row row = result.row();
            if (Boolean.FALSE.equals(result.met())) {
                misses.add(result.miss());
            }
            String params = row.shape().isEmpty() ? "-" : row.shape();
            out.append(String.format(Locale.ROOT, "%-26s %-7s %-4s %19s %8s %9s %11s %10s  %-24s %s%n", row.method(),
                    params, row.mode(), time(row), fmt(result.gflops(), "%.1f"), fmt(result.percent(), "%.1f %%"),
                    fmt(result.overheadMs(), "%.1f"), fmt(result.ratio(), "%.3f×"), result.target(), result.status()));
        }
        out.append('\n');
        if (ceilingGflops == null) {
            out.append("No matMulCeiling in this file: % of ceiling not computed.\n");
        } else {
            out.append(String.format(Locale.ROOT, "Ceiling: fp32 %d³ matMul = %.1f GFLOP/s.%n", MatMulBench.N,
                    ceilingGflops));
        }
        out.append("ratio: × forward of the same shape (runWithCache, ablation, float16 weights); TransformerLens's"
                + " time ÷ ours (generate32*); a cached step ÷ a 1-token forward (cachedStepsFirst32); last ÷ first 32"
                + " steps (cachedStepsLast32Of256).\n");
        out.append(String.format(Locale.ROOT,
                "FLOP model per token: 24·d²·L + 4·T·d·L + 2·d·V = %.1f MFLOP at T=128 (GPT-2 small).%n",
                Dims.GPT2_SMALL.flopsPerToken(128) / 1e6));
        for (Row row : rows) {
            if (row.method().equals(LLAMA_FORWARD) && !row.shape().isEmpty()) {
                int[] bt = Gpt2SmallFixture.parseShape(row.shape());
                out.append(String.format(Locale.ROOT,
                        "Llama-shaped forward %s: %.0f tokens/s; FLOP model per token: 2·(layers' matMul weights)"
                        + " + 4·T·(n_heads·d_head)·L + 2·d·V = %.1f MFLOP at T=%d.%n", row.shape(),
                        (double) bt[0] * bt[1] / (row.ms() / 1e3),
                        llamaDims(row.modelDir()).flopsPerToken(bt[1]) / 1e6, bt[1]));
            }
        }
        for (Row row : rows) {
            if (!row.modelDir().isEmpty()) {
                out.append("modelDir=").append(row.modelDir()).append(" (").append(row.method()).append(")\n");
            }
        }
        if (djlTokenize != null) {
            out.append(tokenizerLine(rows, djlTokenize));
        }
        Row lensTraining = find(rows, LENS_TRAINING);
        if (lensTraining != null) {
            Double rss = LensTrainingBench.peakRssMb();
            out.append(String.format(Locale.ROOT, "Tuned-lens training (GPT-2-small shape, full vocabulary): %.1f tokens/s"
                    + " counting the model's forward; peak resident memory of its fork %s (target < %.0f MB).%n",
                    LensTrainingBench.TOKENS_PER_OP / (lensTraining.ms() / 1e3),
                    rss == null ? "not recorded" : String.format(Locale.ROOT, "%.0f MB", rss), LENS_PEAK_RSS_TARGET_MB));
            if (rss != null && rss >= LENS_PEAK_RSS_TARGET_MB) {
                misses.add(String.format(Locale.ROOT, "tuned-lens training peak RSS %.0f MB, target < %.0f MB", rss,
                        LENS_PEAK_RSS_TARGET_MB));
            }
        }
        if (misses.isEmpty()) {
            out.append("All targets measured here are met.\n");
        } else {
            out.append("Targets missed:\n");
            misses.forEach(m -> out.append("  - ").append(m).append('\n'));
        }
        return out.toString();
    }

    /** Tokens/s of both tokenizer benchmarks, counting the tokens of the benchmark's text. */
    private static String tokenizerLine(List<Row> rows, Row djl) {
        Path dir = Path.of("testdata/models/gpt2-tok");
        if (!Files.isDirectory(dir)) {
            return "";
        }
        long tokens;
        try (Tokenizer tokenizer = Tokenizer.fromModelDir(dir)) {
            tokens = tokenizer.encode(EnglishText.generate(TokenizerBench.TEXT_CHARS)).length;
        }
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                "Tokenizer: %d characters of English, %d tokens;", TokenizerBench.TEXT_CHARS, tokens));
        for (Row row : rows) {
            if (row.method().equals(LOUPE_TOKENIZE) || row == djl) {
                line.append(String.format(Locale.ROOT, " %s %.0f tokens/s;", row.method(), tokens / (row.ms() / 1e3)));
            }
        }
        return line.append('\n').toString();
    }

    private static Row find(List<Row> rows, String method) {
        return rows.stream().filter(r -> r.method().equals(method)).findFirst().orElse(null);
    }

    static String key(Row row) {
        return row.shape() + "|" + row.modelDir();
    }

    /** The matrix-product FLOP of one op of {@code row}, or null for a benchmark without a FLOP model. */
    static Double flops(Row row) {
        double flops;
        if (row.method().equals(MATMUL)) {
            flops = 2.0 * Math.pow(MatMulBench.N, 3);
        } else if (row.method().equals(FORWARD) || row.method().equals(CACHE) || row.method().equals(ABLATION)) {
            if (row.shape().isEmpty()) {
                return null;
            }
            int[] bt = Gpt2SmallFixture.parseShape(row.shape());
            flops = (double) bt[0] * bt[1] * dims(row.modelDir()).flopsPerToken(bt[1]);
        } else if (row.method().equals(FORWARD_ONE_TOKEN)) {
            flops = dims(row.modelDir()).flopsPerToken(1);
        } else if (row.method().equals(LLAMA_FORWARD) && !row.shape().isEmpty()) {
            int[] bt = Gpt2SmallFixture.parseShape(row.shape());
            flops = (double) bt[0] * bt[1] * llamaDims(row.modelDir()).flopsPerToken(bt[1]);
        } else {
            return null;
        }
        return flops;
    }

    /** GPT-2 small, or the dimensions in {@code modelDir/config.json} when the run used another folder. */
    static Dims dims(String modelDir) {
        if (modelDir.isEmpty()) {
            return Dims.GPT2_SMALL;
        }
        try {
            JsonNode c = new ObjectMapper().readTree(Path.of(modelDir, "config.json").toFile());
            return new Dims(first(c, "n_layer", "num_hidden_layers"), first(c, "n_embd", "hidden_size"),
                    first(c, "vocab_size"));
        } catch (IOException | RuntimeException e) {
            System.err.println("Could not read " + modelDir + "/config.json (" + e.getMessage()
                    + "); assuming GPT-2 small dimensions for the FLOP model");
            return Dims.GPT2_SMALL;
        }
    }

    /** The Llama-shaped fixture's dimensions, or those in {@code modelDir/config.json} (a Llama config). */
    static LlamaDims llamaDims(String modelDir) {
        if (modelDir.isEmpty()) {
            return LlamaDims.LLAMA_SHAPED;
        }
        try {
            JsonNode c = new ObjectMapper().readTree(Path.of(modelDir, "config.json").toFile());
            long d = first(c, "hidden_size");
            long heads = first(c, "num_attention_heads");
            long kvHeads = c.hasNonNull("num_key_value_heads") ? first(c, "num_key_value_heads") : heads;
            long dHead = c.hasNonNull("head_dim") ? first(c, "head_dim") : d / heads;
            return new LlamaDims(first(c, "num_hidden_layers"), d, heads, kvHeads, dHead,
                    first(c, "intermediate_size"), first(c, "vocab_size"));
        } catch (IOException | RuntimeException e) {
            System.err.println("Could not read " + modelDir + "/config.json (" + e.getMessage()
                    + "); assuming the Llama-shaped fixture's dimensions for the FLOP model");
            return LlamaDims.LLAMA_SHAPED;
        }
    }

    private static long first(JsonNode config, String... names) {
        for (String name : names) {
            if (config.hasNonNull(name)) {
                return config.get(name).asLong();
            }
        }
        throw new IllegalArgumentException("no " + String.join("/", names));
    }

    private static double toMillis(String unit) {
        int slash = unit.indexOf('/');
        String prefix = slash < 0 ? unit : unit.substring(0, slash);
        return switch (prefix) {
            case "ns" -> 1e-6;
            case "us", "µs" -> 1e-3;
            case "ms" -> 1.0;
            case "s" -> 1e3;
            case "min" -> 6e4;
            default -> throw new IllegalArgumentException("Unsupported JMH score unit '" + unit
                    + "' (expected time per op)");
        };
    }

    static String time(Row row) {
        String value = row.ms() >= 100 ? String.format(Locale.ROOT, "%.0f", row.ms())
                : String.format(Locale.ROOT, "%.1f", row.ms());
        if (Double.isNaN(row.errorMs())) {
            return value + " (n=" + row.samples() + ")";
        }
        String error = row.errorMs() >= 100 ? String.format(Locale.ROOT, "%.0f", row.errorMs())
                : String.format(Locale.ROOT, "%.1f", row.errorMs());
        return value + " ± " + error;
    }

    static String fmt(Double value, String format) {
        return value == null ? "" : String.format(Locale.ROOT, format, value);
    }
}
