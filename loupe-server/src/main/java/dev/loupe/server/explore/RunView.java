package dev.loupe.server.explore;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.train.toy.RepeatHalves;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One run of the model on a prompt, with the request's interventions hooked in: {@code POST /api/v1/run}.
 *
 * @param tokens the prompt's ids [pos]
 * @param strings each token as the page shows it [pos]
 * @param loss the loss of predicting each next token [pos - 1], in nats
 * @param meanLoss their mean
 * @param top per position [pos], the top predictions of the next token, most probable first
 * @param halves for a prompt of BOS and a segment repeated once (2n + 1 tokens), the loss on each half
 *     ({@link RepeatHalves}); else null
 */
public record RunView(long[] tokens, List<String> strings, float[] loss, double meanLoss, List<List<Prediction>> top,
        RepeatHalves halves) {

    /**
     * What a run request sends.
     *
     * @param model the served model's name
     * @param prompt the prompt
     * @param topK how many predictions per position (default 5)
     * @param interventions ablations hooked into the run, or null
     */
    public record Request(String model, Prompt prompt, Integer topK, List<Intervention> interventions) {}

    /** Runs {@code served} on {@code ids} [pos] with {@code hooks}. */
    public static RunView compute(ServedModel served, long[] ids, int topK, List<HookSpec> hooks) {
        HookedTransformer model = served.model();
        int pos = ids.length;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, pos);
            ForwardOptions options = ForwardOptions.builder().returnType(ReturnType.BOTH).lossPerToken(true).build();
            float[] loss;
            float[] probs;
            try (ModelOutput output = model.runWithHooks(tokens, options, hooks)) {
                loss = output.loss().toFloatArray(); // [1, pos - 1]
                probs = output.logits().softmax(-1).toFloatArray(); // [1, pos, d_vocab]
            }
            int vocab = probs.length / pos;
            List<List<Prediction>> top = new ArrayList<>();
            for (int p = 0; p < pos; p++) {
                top.add(top(served, probs, p * vocab, vocab, topK));
            }
            double mean = 0;
            for (float l : loss) {
                mean += l;
            }
            mean /= loss.length;
            RepeatHalves halves = isRepeated(ids) ? RepeatHalves.measure(model, ids, 1, hooks) : null;
            return new RunView(ids, served.labels(ids), loss, mean, top, halves);
        }
    }

    /** BOS followed by a segment of n ≥ 1 tokens and the same segment again. */
    static boolean isRepeated(long[] ids) {
        if (ids.length < 3 || ids.length % 2 == 0) {
            return false;
        }
        int n = (ids.length - 1) / 2;
        return Arrays.equals(ids, 1, 1 + n, ids, 1 + n, ids.length);
    }

    /** The {@code k} most probable of {@code probs[base .. base + vocab)}, by one pass that keeps the best k. */
    static List<Prediction> top(ServedModel served, float[] probs, int base, int vocab, int k) {
        int kept = Math.min(k, vocab);
        int[] best = new int[kept];
        int filled = 0;
        for (int v = 0; v < vocab; v++) {
            float p = probs[base + v];
            if (filled == kept && p <= probs[base + best[kept - 1]]) {
                continue;
            }
            int at = filled < kept ? filled++ : kept - 1;
            while (at > 0 && probs[base + best[at - 1]] < p) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = v;
        }
        List<Prediction> out = new ArrayList<>();
        for (int id : best) {
            out.add(new Prediction(id, served.labels(new long[] {id}).get(0), probs[base + id]));
        }
        return out;
    }
}
