package dev.loupe.server.explore;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.analysis.patching.PatchFamily;
import dev.loupe.analysis.patching.PatchMetric;
import dev.loupe.analysis.patching.PatchOptions;
import dev.loupe.analysis.patching.Patching;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.ActName;
import dev.loupe.hook.HookSpec;
import java.util.List;
import java.util.stream.IntStream;

/**
 * An activation-patching map, {@code POST /api/v1/patch}: the corrupted prompt run once per layer and
 * column with that activation taken from the clean prompt's run ({@link PatchFamily#run}), measured
 * by the logit difference {@code answer − wrong} at the last position ({@link PatchMetric#logitDiff}).
 *
 * @param target what was patched
 * @param answer the right answer's id
 * @param wrong the wrong answer's id
 * @param columns a label per column: the clean prompt's tokens [pos], or the head numbers
 * @param values [n_layers][columns] the patched runs' logit differences
 * @param cleanDiff the clean run's logit difference
 * @param corruptedDiff the corrupted run's
 */
public record PatchingView(PatchTarget target, long answer, long wrong, List<String> columns, float[][] values,
        float cleanDiff, float corruptedDiff) {

    /**
     * What a patching request sends.
     *
     * @param clean the clean prompt
     * @param corrupted the corrupted prompt, as many tokens as the clean one
     * @param answer the right answer's id, or null for the clean run's top prediction
     * @param wrong the wrong answer's id, or null for the corrupted run's top prediction
     * @param target resid_pre (default), attn_out, mlp_out or heads
     */
    public record Request(String model, Prompt clean, Prompt corrupted, Long answer, Long wrong, PatchTarget target) {}

    /**
     * One cell of the map as its own run, {@code POST /api/v1/patch/cell}.
     *
     * @param value the cell's logit difference ({@link Patching#genericAt} at this index)
     * @param run the patched run
     */
    public record Cell(float value, RunView run) {

        /** The map's request and the cell: {@code layer}, and {@code column} (a position, or a head). */
        public record Request(String model, Prompt clean, Prompt corrupted, Long answer, Long wrong, PatchTarget target,
                int layer, int column, Integer topK) {}
    }

    /** The clean and corrupted prompts' ids, checked to be as long as each other. */
    static long[][] prompts(ServedModel served, Prompt clean, Prompt corrupted, Limits limits) {
        if (clean == null || corrupted == null) {
            throw new LoupeException("Patching needs \"clean\" and \"corrupted\" prompts");
        }
        long[] a = clean.ids(served, limits, "clean");
        long[] b = corrupted.ids(served, limits, "corrupted");
        if (a.length != b.length) {
            throw new LoupeException("clean has " + a.length + " tokens but corrupted has " + b.length + "; patching"
                    + " needs prompts of the same length in tokens");
        }
        return new long[][] {a, b};
    }

    /** Computes the map. */
    public static PatchingView compute(ServedModel served, Request request, Limits limits) {
        long[][] ids = prompts(served, request.clean(), request.corrupted(), limits);
        PatchTarget target = checked(served, request.target());
        var config = served.model().config();
        int columns = target == PatchTarget.HEADS ? config.nHeads() : ids[0].length;
        if ((long) config.nLayers() * columns > limits.maxPatchRuns()) {
            throw new LoupeException("This map takes " + config.nLayers() * columns + " patched runs; the server allows "
                    + limits.maxPatchRuns() + ": shorten the prompts");
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray clean = manager.create(ids[0]).reshape(1, ids[0].length);
            NDArray corrupted = manager.create(ids[1]).reshape(1, ids[1].length);
            try (ActivationCache cache = served.model().runWithCache(clean, CacheOptions.matching(target.cachedHooks()))) {
                NDArray corruptedLogits = served.model().forward(corrupted);
                long answer = answerOr(served, request.answer(), cache.logits());
                long wrong = answerOr(served, request.wrong(), corruptedLogits);
                if (answer == wrong) {
                    throw new LoupeException("answer and wrong are the same token (" + answer + "); name them with"
                            + " \"answer\" and \"wrong\"");
                }
                PatchMetric metric = PatchMetric.logitDiff(answer, wrong);
                float[] flat = target.family().run(served.model(), corrupted, cache, metric).toFloatArray();
                float[][] values = new float[config.nLayers()][columns];
                for (int l = 0; l < values.length; l++) {
                    System.arraycopy(flat, l * columns, values[l], 0, columns);
                }
                List<String> labels = target == PatchTarget.HEADS
                        ? IntStream.range(0, columns).mapToObj(h -> "H" + h).toList()
                        : served.labels(ids[0]);
                return new PatchingView(target, answer, wrong, labels, values, metric.apply(cache.logits()),
                        metric.apply(corruptedLogits));
            }
        }
    }

    /** Runs one cell of the map: the corrupted prompt with that activation from the clean run. */
    public static Cell cell(ServedModel served, Cell.Request request, Limits limits) {
        long[][] ids = prompts(served, request.clean(), request.corrupted(), limits);
        PatchTarget target = checked(served, request.target());
        var config = served.model().config();
        int columns = target == PatchTarget.HEADS ? config.nHeads() : ids[0].length;
        if (request.layer() < 0 || request.layer() >= config.nLayers() || request.column() < 0
                || request.column() >= columns) {
            throw new LoupeException("Cell (" + request.layer() + ", " + request.column() + ") is outside the map's "
                    + config.nLayers() + " layers × " + columns + " columns");
        }
        int topK = limits.topK(request.topK());
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray clean = manager.create(ids[0]).reshape(1, ids[0].length);
            NDArray corrupted = manager.create(ids[1]).reshape(1, ids[1].length);
            try (ActivationCache cache = served.model().runWithCache(clean, CacheOptions.matching(target.cachedHooks()))) {
                long answer = answerOr(served, request.answer(), cache.logits());
                long wrong = answerOr(served, request.wrong(), served.model().forward(corrupted));
                PatchFamily family = target.family();
                int[] index = {request.layer(), request.column()};
                String name = ActName.of(family.activationName(), request.layer());
                float value = Patching.genericAt(served.model(), corrupted, cache, PatchMetric.logitDiff(answer, wrong),
                        family.activationName(), List.of(index), family.setter(), PatchOptions.defaults())
                        .toFloatArray()[0];
                HookSpec patch = HookSpec.forward(name, (activation, point) ->
                        family.setter().apply(activation, index, cache.get(name)));
                return new Cell(value, RunView.compute(served, ids[1], topK, List.of(patch)));
            }
        }
    }

    private static PatchTarget checked(ServedModel served, PatchTarget target) {
        PatchTarget t = target == null ? PatchTarget.RESID_PRE : target;
        if (t == PatchTarget.MLP_OUT && served.model().config().attnOnly()) {
            throw new LoupeException(served.name() + " is attention-only: it has no mlp_out to patch; patch resid_pre,"
                    + " attn_out or heads");
        }
        return t;
    }

    /** {@code given}, or the top prediction at the last position of {@code logits} [1, pos, d_vocab]. */
    private static long answerOr(ServedModel served, Long given, NDArray logits) {
        int vocab = served.model().config().dVocabOut();
        if (given != null) {
            if (given < 0 || given >= vocab) {
                throw new LoupeException("Answer token " + given + " is outside the vocabulary 0.." + (vocab - 1));
            }
            return given;
        }
        return logits.get(":, -1, :").argMax().getLong();
    }
}
