package dev.loupe.sae.features;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookPoint;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.sae.Sae;
import dev.loupe.sae.splice.SaeRuns;
import dev.loupe.stop.StopSignal;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Every feature of one SAE over a corpus: the SAE spliced into the model ({@link SaeRuns}, no error term) and run
 * over the corpus's sequences in batches, its {@code hook_sae_acts_post} streamed through a
 * {@link FeatureCollector}.
 *
 * <pre>{@code
 * FeatureHarvest harvest = FeatureHarvest.run(model, sae, tokens, null, FeatureOptions.defaults()); // tokens [n][ctx]
 * FeatureActivity densest = harvest.byDensity().get(0);
 * }</pre>
 *
 * @param hookName the hook the SAE reads
 * @param sequences how many sequences the corpus had
 * @param features one per feature, by index (d_sae of them)
 */
public record FeatureHarvest(String hookName, int sequences, List<FeatureActivity> features) {
    /** A batch's activations kept near this many floats when the batch size is picked. */
    private static final int BATCH_FLOATS = 1 << 24;

    public FeatureHarvest {
        features = List.copyOf(features);
    }

    /**
     * Runs {@code corpus} [n][ctx] (token ids, every sequence as long, none longer than the model's n_ctx) through
     * {@code model} with {@code sae} spliced in.
     *
     * @param contextsOf the features whose top contexts are kept (density and histogram are kept for all), or null
     *     for every feature
     * @throws LoupeException for an empty or ragged corpus, a token id outside the vocabulary, or an SAE that does
     *     not fit the model
     * @throws dev.loupe.stop.StoppedException when the thread's {@link StopSignal} is requested (between batches)
     */
    public static FeatureHarvest run(HookedTransformer model, Sae sae, long[][] corpus, int[] contextsOf,
            FeatureOptions options) {
        return run(model, sae, corpus, contextsOf, options, done -> { });
    }

    /**
     * As {@link #run(HookedTransformer, Sae, long[][], int[], FeatureOptions)}, telling {@code progress} how many
     * sequences are done after each batch.
     */
    public static FeatureHarvest run(HookedTransformer model, Sae sae, long[][] corpus, int[] contextsOf,
            FeatureOptions options, IntConsumer progress) {
        int ctx = check(model, corpus);
        int dSae = sae.cfg().dSae();
        String point = (sae.isTranscoder() ? sae.cfg().hookNameOut() : sae.hookName()) + "." + Sae.HOOK_ACTS_POST;
        int layer = new HookPoint(sae.isTranscoder() ? sae.cfg().hookNameOut() : sae.hookName()).layer();
        ForwardOptions.Builder forward = ForwardOptions.builder();
        if (layer >= 0 && layer + 1 < model.config().nLayers()) {
            forward.stopAtLayer(layer + 1); // nothing after the SAE's block is read
        }
        CacheOptions cacheOptions = CacheOptions.filtered(point::equals).withForward(forward.build());
        int batch = options.batchSize() > 0 ? options.batchSize() : Math.max(1, BATCH_FLOATS / Math.max(1, ctx * dSae));
        FeatureCollector collector = new FeatureCollector(dSae, contextsOf, options);
        StopSignal stop = StopSignal.current();
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int start = 0; start < corpus.length; start += batch) {
                int done = start;
                stop.check(() -> "after " + done + " of " + corpus.length + " sequences");
                long[][] rows = Arrays.copyOfRange(corpus, start, Math.min(corpus.length, start + batch));
                try (NDManager pass = manager.newSubManager()) {
                    NDArray tokens = pass.create(rows);
                    float[] acts;
                    try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, cacheOptions, List.of(sae),
                            false, List.of())) {
                        if (!cache.containsKey(point)) {
                            throw new LoupeException("The run cached no " + point + "; is the SAE's hook point in this"
                                    + " model?");
                        }
                        acts = cache.get(point).toType(DataType.FLOAT32, false).toFloatArray();
                    }
                    collector.add(acts, rows);
                }
                progress.accept(start + rows.length);
            }
        }
        return new FeatureHarvest(sae.hookName(), corpus.length, collector.activities());
    }

    /** The features from the densest down (ties: lower index first). */
    public List<FeatureActivity> byDensity() {
        return features.stream().sorted(Comparator.comparingLong(FeatureActivity::activeTokens).reversed()
                .thenComparingInt(FeatureActivity::feature)).toList();
    }

    /** Feature {@code f}'s activity. */
    public FeatureActivity feature(int f) {
        if (f < 0 || f >= features.size()) {
            throw new LoupeException("Feature " + f + " does not exist: the SAE has features 0 to " + (features.size() - 1));
        }
        return features.get(f);
    }

    /** The tokens of the corpus. */
    public long tokens() {
        return features.isEmpty() ? 0 : features.get(0).tokens();
    }

    private static int check(HookedTransformer model, long[][] corpus) {
        if (corpus.length == 0 || corpus[0].length == 0) {
            throw new LoupeException("The corpus is empty: give at least one sequence of at least one token");
        }
        int ctx = corpus[0].length;
        int nCtx = model.config().nCtx();
        if (ctx > nCtx) {
            throw new LoupeException("The corpus's sequences have " + ctx + " tokens but the model takes at most " + nCtx
                    + " (n_ctx); cut them shorter");
        }
        int vocab = model.config().dVocab();
        for (int s = 0; s < corpus.length; s++) {
            if (corpus[s].length != ctx) {
                throw new LoupeException("Every sequence of the corpus needs the same length: sequence 0 has " + ctx
                        + " tokens, sequence " + s + " has " + corpus[s].length);
            }
            for (long id : corpus[s]) {
                if (id < 0 || id >= vocab) {
                    throw new LoupeException("Sequence " + s + " holds token id " + id + ", outside the model's"
                            + " vocabulary [0, " + vocab + "); was the corpus tokenised for another model?");
                }
            }
        }
        return ctx;
    }
}
