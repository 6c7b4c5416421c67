package dev.loupe.cli.demo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.cli.support.Table;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.Tokenizer;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The logit lens at one position: each layer's residual stream read out through the final
 * LayerNorm and the unembedding, as if the model stopped there.
 *
 * <p>Row {@code l} (0 ≤ l < n_layers) reads {@code blocks.l.hook_resid_pre}; the last row
 * (l = n_layers) reads the final residual, {@code blocks.<n_layers-1>.hook_resid_post}, so its
 * probabilities are the model's own.
 *
 * @param rows one per layer, n_layers + 1 in all
 * @param top the model's top predictions at that position, most probable first
 */
public record LogitLensTable(List<Row> rows, List<Prediction> top) {

    /** A token and its probability. */
    public record Prediction(int token, float probability) {}

    /**
     * One layer of the lens.
     *
     * @param layer 0..n_layers
     * @param hook the residual stream hook read
     * @param best the most probable token when reading out this residual
     * @param finalTopProbability the probability this residual gives the model's final top-1 token
     */
    public record Row(int layer, String hook, Prediction best, float finalTopProbability) {}

    /** The residual stream hooks the lens reads. */
    public static CacheOptions cacheOptions() {
        return CacheOptions.matching("blocks\\.\\d+\\.hook_resid_(pre|post)");
    }

    /** The hook the lens reads for {@code layer} (0..n_layers). */
    public static String hookFor(int layer, int nLayers) {
        return layer < nLayers ? ActName.of("resid_pre", layer) : ActName.of("resid_post", nLayers - 1);
    }

    /**
     * Runs the model on {@code tokens} [batch, pos] and computes the lens at the last position of the
     * first sequence.
     */
    public static LogitLensTable run(HookedTransformer model, NDArray tokens, int topK) {
        try (ActivationCache cache = model.runWithCache(tokens, cacheOptions())) {
            long pos = tokens.getShape().get(tokens.getShape().dimension() - 1);
            return compute(model, cache, 0, pos - 1, topK);
        }
    }

    /**
     * Computes the lens from a cache holding every {@code hook_resid_pre} and the last
     * {@code hook_resid_post} (see {@link #cacheOptions()}).
     *
     * @param batch which sequence
     * @param position which position
     * @param topK how many of the model's top predictions to keep
     */
    public static LogitLensTable compute(HookedTransformer model, ActivationCache cache, long batch, long position,
            int topK) {
        TransformerConfig config = model.config();
        int nLayers = config.nLayers();
        if (nLayers < 1) {
            throw new LoupeException("The logit lens needs a model with at least one block");
        }
        Map<String, NDArray> params = model.stateDict();
        NDArray unembed = params.get("unembed.W_U");
        if (unembed == null) {
            throw new LoupeException("The model's state dict has no unembed.W_U; the logit lens needs it");
        }
        List<float[]> probabilities = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int layer = 0; layer <= nLayers; layer++) {
                // Copied into this manager, so that every op below (activation first) stays here.
                NDArray x = cache.get(hookFor(layer, nLayers)).get(manager, new NDIndex(batch, position))
                        .reshape(1, config.dModel());
                NDArray normalized = model.applyFinalNorm(x); // ln_final as the model has it: LN, RMS, with or without weights
                NDArray logits = normalized.matMul(unembed);
                NDArray bias = params.get("unembed.b_U");
                if (bias != null) {
                    logits = logits.add(bias);
                }
                probabilities.add(logits.softmax(-1).toFloatArray());
            }
        }
        float[] last = probabilities.get(nLayers);
        int[] best = topK(last, Math.max(1, topK));
        List<Prediction> top = new ArrayList<>();
        for (int i = 0; i < Math.min(topK, best.length); i++) {
            top.add(new Prediction(best[i], last[best[i]]));
        }
        int finalTop = best[0];
        List<Row> rows = new ArrayList<>();
        for (int layer = 0; layer <= nLayers; layer++) {
            float[] p = probabilities.get(layer);
            int argmax = topK(p, 1)[0];
            rows.add(new Row(layer, hookFor(layer, nLayers), new Prediction(argmax, p[argmax]), p[finalTop]));
        }
        return new LogitLensTable(List.copyOf(rows), List.copyOf(top));
    }

    /**
     * Prints the model's top predictions after the last position, then the lens: per layer the top-1
     * token, its probability and the probability of the model's final top-1 token.
     *
     * @param names the tokenizer to name tokens with, or null (tokens show as #id)
     * @param last the token at that position
     */
    public void print(PrintWriter out, Tokenizer names, long last) {
        out.println();
        out.printf(Locale.ROOT, "Top %d next-token predictions after the last token (%s):%n", top.size(),
                names == null ? "#" + last : last + " \"" + Table.token(names, last) + "\"");
        Table predictions = Table.withHeader("rank", "token id", "token", "probability").alignRight(0, 1, 3).indent(2);
        int rank = 1;
        for (Prediction p : top) {
            predictions.row(String.valueOf(rank++), String.valueOf(p.token()), Table.token(names, p.token()),
                    Table.probability(p.probability()));
        }
        predictions.print(out);

        String finalTop = Table.token(names, top.get(0).token());
        out.println();
        out.println("Logit lens at the last position: each layer's residual stream read out through");
        out.println("ln_final and the unembedding. The last row is the model's own output.");
        Table lens = Table.withHeader("layer", "residual stream", "top-1 id", "token", "p(top-1)", "p(" + finalTop + ")")
                .alignRight(0, 2, 4, 5).indent(2);
        for (Row row : rows) {
            lens.row(String.valueOf(row.layer()), row.hook(), String.valueOf(row.best().token()),
                    Table.token(names, row.best().token()), Table.probability(row.best().probability()),
                    Table.probability(row.finalTopProbability()));
        }
        lens.print(out);
        out.println();
        out.println("p(" + finalTop + ") is the probability each layer gives the model's final top-1 token.");
    }

    /** Indices of the k largest values, largest first; ties go to the lower index. */
    public static int[] topK(float[] values, int k) {
        int n = Math.min(k, values.length);
        int[] best = new int[n];
        int filled = 0;
        for (int i = 0; i < values.length; i++) {
            if (filled == n && values[i] <= values[best[n - 1]]) {
                continue;
            }
            int at = filled < n ? filled++ : n - 1;
            while (at > 0 && values[best[at - 1]] < values[i]) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = i;
        }
        return best;
    }
}
