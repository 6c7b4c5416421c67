package dev.loupe.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.PaddingSide;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.tokenize.TokenBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * TransformerLens's {@code generate} on text: tokenizes the prompts (with the options' BOS and padding
 * side; a batch is left-padded so that every prompt ends at the last position) and returns text,
 * token ids or the new tokens alone. Each prompt's output equals generating it alone.
 */
public final class TextGenerator {
    private TextGenerator() {}

    /** The prompt followed by its continuation, as text (TransformerLens's {@code return_type="str"}). */
    public static String generate(HookedTransformer model, String prompt, GenerateOptions options) {
        return generate(model, List.of(prompt), options).get(0);
    }

    /** Each prompt followed by its continuation, as text (padding and a prepended BOS left out). */
    public static List<String> generate(HookedTransformer model, List<String> prompts, GenerateOptions options) {
        TokenBatch batch = tokenize(model, prompts, options);
        boolean bos = model.textEncoder().prependsBos(textOptions(options));
        List<String> texts = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            long[][] rows = rows(generate(model, batch, options, manager));
            for (int b = 0; b < rows.length; b++) {
                int start = batch.width() - batch.lengths()[b] + (bos ? 1 : 0);
                texts.add(model.tokenizer().decode(Arrays.copyOfRange(rows[b], start, rows[b].length)));
            }
        }
        return texts;
    }

    /** Each prompt's new tokens alone. */
    public static List<long[]> newTokens(HookedTransformer model, List<String> prompts, GenerateOptions options) {
        TokenBatch batch = tokenize(model, prompts, options);
        List<long[]> generated = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            for (long[] row : rows(generate(model, batch, options, manager))) {
                generated.add(Arrays.copyOfRange(row, batch.width(), row.length));
            }
        }
        return generated;
    }

    /**
     * The padded prompts followed by the new tokens, int64 [batch, pos + generated] owned by
     * {@code manager} (TransformerLens's {@code return_type="tokens"}).
     */
    public static NDArray generateTokens(HookedTransformer model, List<String> prompts, GenerateOptions options,
            NDManager manager) {
        return generate(model, tokenize(model, prompts, options), options, manager);
    }

    /** As {@link #generateTokens}, with the activation cache of the whole generated sequence. */
    public static Generator.Generation generateWithCache(HookedTransformer model, List<String> prompts,
            GenerateOptions options, CacheOptions cacheOptions, NDManager manager) {
        TokenBatch batch = tokenize(model, prompts, options);
        NDArray mask = batch.isPadded() ? batch.maskArray(manager) : null;
        return Generator.generateWithCache(model, batch.idsArray(manager), mask, options, cacheOptions, null);
    }

    /** The prompts as one batch; refuses right padding of unequal prompts, which would read pads. */
    public static TokenBatch tokenize(HookedTransformer model, List<String> prompts, GenerateOptions options) {
        if (prompts.isEmpty()) {
            throw new LoupeException("generate needs at least one prompt");
        }
        TokenBatch batch = model.toTokens(prompts, textOptions(options));
        if (batch.isPadded() && options.paddingSide() == PaddingSide.RIGHT) {
            throw new LoupeException("Right padding puts pad tokens between a shorter prompt and its continuation;"
                    + " generate a batch of prompts of different lengths with PaddingSide.LEFT (the default)");
        }
        return batch;
    }

    private static TextOptions textOptions(GenerateOptions options) {
        TextOptions text = TextOptions.defaults().withPaddingSide(options.paddingSide());
        return options.prependBos() == null ? text : text.withPrependBos(options.prependBos());
    }

    private static NDArray generate(HookedTransformer model, TokenBatch batch, GenerateOptions options,
            NDManager manager) {
        NDArray mask = batch.isPadded() ? batch.maskArray(manager) : null;
        return Generator.generate(model, batch.idsArray(manager), mask, options, null);
    }

    private static long[][] rows(NDArray tokens) {
        long[] flat = tokens.toLongArray();
        int width = (int) tokens.getShape().get(1);
        long[][] rows = new long[(int) tokens.getShape().get(0)][];
        for (int b = 0; b < rows.length; b++) {
            rows[b] = Arrays.copyOfRange(flat, b * width, (b + 1) * width);
        }
        return rows;
    }
}
