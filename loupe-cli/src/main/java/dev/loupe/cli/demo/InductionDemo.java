package dev.loupe.cli.demo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.analysis.heads.DetectionPattern;
import dev.loupe.analysis.heads.HeadDetector;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cli.support.Table;
import dev.loupe.config.TransformerConfig;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.Tokenizer;
import dev.loupe.train.TrainingRandom;
import dev.loupe.train.toy.RepeatHalves;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The induction section of {@code loupe demo}: a random sequence repeated once, the loss on each
 * half, every head's induction and previous-token score, and the logit lens at a few positions. On
 * a model with an induction circuit, the repeated half's loss collapses, a layer-0 head attends to
 * the previous token and a layer-1 head to the token after the current token's first occurrence.
 *
 * @param ids the sequence: BOS, n random tokens, the same n again
 * @param dVocab the model's vocabulary size
 * @param halves the loss on each half
 * @param induction induction scores [n_layers][n_heads]
 * @param previousToken previous-token scores [n_layers][n_heads]
 * @param lens per position shown, per layer (0..n_layers), the top-1 token and the correct token's probability
 */
public record InductionDemo(long[] ids, int dVocab, RepeatHalves halves, float[][] induction, float[][] previousToken,
        List<LensColumn> lens) {
    /** The seed of the demo's random sequence. */
    public static final long SEED = 2024;
    /** The longest segment: BOS + 2 × 31 = 63 tokens, within the toy models' 64 positions. */
    public static final int MAX_SEGMENT = 31;

    /**
     * The logit lens at one position.
     *
     * @param position the query position
     * @param top per layer (0..n_layers), the most probable next token
     * @param correct per layer, the probability of the actual next token
     */
    public record LensColumn(int position, long[] top, float[] correct) {}

    /** The segment length {@code model} can show: what fits in n_ctx - 1 positions, at most 31. */
    public static int segmentLength(TransformerConfig config) {
        return Math.min(MAX_SEGMENT, (config.nCtx() - 2) / 2);
    }

    /**
     * Runs {@code model} on the repeated sequence.
     *
     * @param bos the id to start with (the tokenizer's BOS, or 0 for Loupe's toy models)
     */
    public static InductionDemo run(HookedTransformer model, long bos) {
        TransformerConfig config = model.config();
        int n = segmentLength(config);
        long[] ids = sequence(n, bos, config.dVocab());
        RepeatHalves halves = RepeatHalves.measure(model, ids, 1, List.of());
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, ids.length);
            // Heads that park their attention on BOS when they have nothing to do are scored on the rest.
            HeadDetector.Options options = HeadDetector.Options.defaults().withExcludeBos(true);
            float[][] induction = HeadDetector.detectHead(model, tokens, DetectionPattern.INDUCTION, null, options);
            float[][] previous = HeadDetector.detectHead(model, tokens, DetectionPattern.PREVIOUS_TOKEN, null, options);
            List<LensColumn> lens = new ArrayList<>();
            try (ActivationCache cache = model.runWithCache(tokens, LogitLensTable.cacheOptions())) {
                for (int position : new int[] {n / 2, n + n / 2, 2 * n - 1}) {
                    lens.add(lensAt(model, cache, position, ids[position + 1]));
                }
            }
            return new InductionDemo(ids, config.dVocab(), halves, induction, previous, List.copyOf(lens));
        }
    }

    /** BOS, then {@code n} tokens drawn from the demo's seed (never BOS itself), then the same {@code n} again. */
    public static long[] sequence(int n, long bos, int dVocab) {
        TrainingRandom random = TrainingRandom.seeded(SEED);
        long[] ids = new long[1 + 2 * n];
        ids[0] = bos;
        for (int i = 1; i <= n; i++) {
            long id;
            do {
                id = 1 + random.nextInt(dVocab - 1);
            } while (id == bos);
            ids[i] = id;
            ids[n + i] = id;
        }
        return ids;
    }

    private static LensColumn lensAt(HookedTransformer model, ActivationCache cache, int position, long next) {
        int nLayers = model.config().nLayers();
        Map<String, NDArray> params = model.stateDict();
        long[] top = new long[nLayers + 1];
        float[] correct = new float[nLayers + 1];
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int layer = 0; layer <= nLayers; layer++) {
                NDArray x = cache.get(LogitLensTable.hookFor(layer, nLayers)).get(manager, new NDIndex(0, position))
                        .reshape(1, model.config().dModel());
                NDArray logits = model.applyFinalNorm(x).matMul(params.get("unembed.W_U"));
                NDArray bias = params.get("unembed.b_U");
                float[] p = (bias == null ? logits : logits.add(bias)).softmax(-1).toFloatArray();
                top[layer] = LogitLensTable.topK(p, 1)[0];
                correct[layer] = p[(int) next];
            }
        }
        return new LensColumn(position, top, correct);
    }

    /**
     * Prints the section.
     *
     * @param names the tokenizer to name tokens with, or null (tokens show as #id)
     */
    public void print(PrintWriter out, Tokenizer names) {
        int n = (ids.length - 1) / 2;
        out.println();
        out.printf(Locale.ROOT, "Induction: BOS, %d random tokens, then the same %d again (%d tokens, seed %d)%n", n, n,
                ids.length, SEED);
        out.println("Sequence   " + tokens(names, 0, Math.min(ids.length, 1 + 8)) + " ...");
        out.println();
        out.printf(Locale.ROOT, "Loss on the first half     %.4f nats (its tokens are random: chance is ln(%d) = %.4f)%n",
                halves.firstHalf(), dVocab - 1, Math.log(dVocab - 1));
        out.printf(Locale.ROOT, "Loss on the repeated half  %.4f nats (%.1f %% of the first half)%n",
                halves.repeatedHalf(), 100 * halves.ratio());
        out.println();
        out.println("Head scores (TransformerLens's detect_head on this sequence, attention to BOS left out):");
        Table heads = Table.withHeader("layer", "head", "induction", "previous-token").alignRight(0, 1, 2, 3).indent(2);
        for (int layer = 0; layer < induction.length; layer++) {
            for (int head = 0; head < induction[layer].length; head++) {
                heads.row(String.valueOf(layer), String.valueOf(head), score(induction[layer][head]),
                        score(previousToken[layer][head]));
            }
        }
        heads.print(out);
        out.println();
        out.println("Logit lens: the top-1 token and p(the actual next token) read from each layer's residual");
        out.println("stream through ln_final and the unembedding (the last row is the model's output).");
        List<String> header = new ArrayList<>(List.of("layer", "residual stream"));
        for (LensColumn column : lens) {
            header.add(String.format(Locale.ROOT, "pos %d (%s, next %s)", column.position(),
                    column.position() < n ? "first half" : "repeated", Table.token(names, ids[column.position() + 1])));
        }
        Table lensTable = Table.withHeader(header.toArray(String[]::new)).alignRight(0).indent(2);
        int nLayers = induction.length;
        for (int layer = 0; layer <= nLayers; layer++) {
            List<String> row = new ArrayList<>(List.of(String.valueOf(layer), LogitLensTable.hookFor(layer, nLayers)));
            for (LensColumn column : lens) {
                row.add(String.format(Locale.ROOT, "top %s  p %s", Table.token(names, column.top()[layer]),
                        Table.probability(column.correct()[layer])));
            }
            lensTable.row(row.toArray(String[]::new));
        }
        lensTable.print(out);
    }

    private String tokens(Tokenizer names, int from, int to) {
        List<String> shown = new ArrayList<>();
        for (int i = from; i < to; i++) {
            shown.add(Table.token(names, ids[i]));
        }
        return String.join(" ", shown);
    }

    private static String score(float value) {
        return String.format(Locale.ROOT, "%.3f", value);
    }
}
