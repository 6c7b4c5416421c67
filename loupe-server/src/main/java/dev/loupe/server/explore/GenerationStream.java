package dev.loupe.server.explore;

import ai.djl.ndarray.NDManager;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookScope;
import java.util.List;

/**
 * Greedy generation with the request's interventions hooked in, one token at a time to a sink,
 * {@code POST /api/v1/generate} ({@link Generator#generate} with a step listener).
 */
public final class GenerationStream {
    private GenerationStream() {}

    /**
     * What a generation request sends.
     *
     * @param maxNewTokens how many tokens to add (the server's limit and the context cap it)
     */
    public record Request(String model, Prompt prompt, Integer maxNewTokens, List<Intervention> interventions) {}

    /**
     * One generated token.
     *
     * @param step 0 for the first new token
     * @param id its id
     * @param text as shown
     */
    public record Step(int step, long id, String text) {}

    /** Receives each token as it is made; throwing stops the generation (a client that went away). */
    @FunctionalInterface
    public interface Sink {
        void accept(Step step);
    }

    /**
     * Generates up to {@code maxNewTokens} after {@code ids} [pos], telling {@code sink} of each.
     * Generation's hooks are the model's for the while, so with interventions it runs alone.
     *
     * @return the prompt followed by the new tokens
     */
    public static long[] run(ServedModel served, long[] ids, int maxNewTokens, List<HookSpec> hooks, Sink sink) {
        Generator.checkContext(served.model(), ids.length, maxNewTokens);
        // A model without a tokenizer has no end-of-sequence token: it generates all it is asked for.
        GenerateOptions greedy = GenerateOptions.greedy(maxNewTokens).withStopAtEos(served.model().hasTokenizer());
        if (hooks.isEmpty()) {
            return served.shared(() -> generate(served, ids, greedy, sink));
        }
        return served.exclusive(() -> {
            try (HookScope scope = served.model().hooks(hooks)) {
                // Without the key/value cache every step runs on the whole sequence, so that a position's
                // ablation and a mean over positions mean what they mean in a plain run.
                return generate(served, ids, greedy.withUsePastKvCache(false), sink);
            }
        });
    }

    private static long[] generate(ServedModel served, long[] ids, GenerateOptions options, Sink sink) {
        try (NDManager manager = NDManager.newBaseManager()) {
            return Generator.generate(served.model(), manager.create(ids).reshape(1, ids.length), null,
                    options, (step, tokens) ->
                            sink.accept(new Step(step, tokens[0], served.labels(new long[] {tokens[0]}).get(0))))
                    .toLongArray();
        }
    }
}
