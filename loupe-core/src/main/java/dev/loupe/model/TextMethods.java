package dev.loupe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookSpec;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.tokenize.TextEncoder;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.tokenize.TokenBatch;
import dev.loupe.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * TransformerLens's text API on {@link HookedTransformer}: strings in, strings out, with its BOS and
 * padding semantics (see {@link TextEncoder}). Every method that runs the model on strings builds
 * the attention mask from the padding, so a padded batch gives, at each real position, the logits
 * each text gives alone.
 *
 * <p>Arrays a method creates belong to the {@code manager} it is given; a cache owns its own.
 */
public interface TextMethods {

    /** The model's text encoder; throws if the model has no tokenizer. */
    TextEncoder textEncoder();

    /** The model's forward pass on tokens; see {@link HookedTransformer#forward(NDArray, ForwardOptions)}. */
    ModelOutput forward(NDArray input, ForwardOptions options);

    /** See {@link HookedTransformer#runWithHooks(NDArray, ForwardOptions, List)}. */
    ModelOutput runWithHooks(NDArray input, ForwardOptions options, List<HookSpec> hooks);

    /** The model's config. */
    TransformerConfig config();

    /** The model's parameters. */
    java.util.Map<String, NDArray> stateDict();

    // ---- text → tokens ----------------------------------------------------------------------

    /** Token ids [1, pos] of {@code text}, with the model's default BOS setting. */
    default NDArray toTokens(String text, NDManager manager) {
        return toTokens(List.of(text), TextOptions.defaults()).idsArray(manager);
    }

    /** Token ids [batch, pos] of {@code texts}, right-padded with the pad token. */
    default NDArray toTokens(List<String> texts, NDManager manager) {
        return toTokens(texts, TextOptions.defaults()).idsArray(manager);
    }

    /** {@code texts} as a padded batch with its attention mask, as plain Java arrays. */
    default TokenBatch toTokens(List<String> texts, TextOptions options) {
        return textEncoder().encode(texts, options);
    }

    // ---- tokens → text ----------------------------------------------------------------------

    /** The text of token ids [pos] or [1, pos] (special tokens included). */
    default String toString(NDArray tokens) {
        return textEncoder().tokenizer().decode(row(tokens));
    }

    /** The text of each row of token ids [batch, pos]. */
    default List<String> toStrings(NDArray tokens) {
        if (tokens.getShape().dimension() == 0) {
            throw new LoupeException("toStrings takes token ids [batch, pos] (or [pos]), got a scalar (rank 0, shape [])"
                    + "; use toString or toStrTokens for a single token");
        }
        long[] ids = tokens.toType(DataType.INT64, false).toLongArray();
        int width = (int) tokens.getShape().get(tokens.getShape().dimension() - 1);
        List<String> texts = new ArrayList<>();
        for (int start = 0; start < ids.length; start += width) {
            texts.add(textEncoder().tokenizer().decode(Arrays.copyOfRange(ids, start, start + width)));
        }
        return texts;
    }

    /** Each token of {@code text} as a string, BOS included if the model prepends one. */
    default List<String> toStrTokens(String text) {
        return toStrTokens(text, TextOptions.defaults());
    }

    /** As {@link #toStrTokens(String)} with explicit options. */
    default List<String> toStrTokens(String text, TextOptions options) {
        return toStrTokens(textEncoder().encode(text, options));
    }

    /** Each token id [pos] or [1, pos] as a string. */
    default List<String> toStrTokens(NDArray tokens) {
        return toStrTokens(row(tokens));
    }

    /** Each token id as a string (a lone piece of a multi-byte character is U+FFFD, as in Hugging Face). */
    default List<String> toStrTokens(long[] ids) {
        Tokenizer tokenizer = textEncoder().tokenizer();
        List<String> strings = new ArrayList<>(ids.length);
        for (long id : ids) {
            strings.add(tokenizer.decodeToken(id));
        }
        return strings;
    }

    /**
     * The id of {@code string}, which must be exactly one token (no BOS is added).
     *
     * @throws LoupeException naming the tokens it splits into otherwise
     */
    default long toSingleToken(String string) {
        long[] ids = textEncoder().encode(string, TextOptions.defaults().withPrependBos(false));
        if (ids.length != 1) {
            throw new LoupeException("'" + string + "' is not a single token: it is " + ids.length + " tokens "
                    + toStrTokens(ids) + " = " + Arrays.toString(ids) + ". Use toTokens for longer strings.");
        }
        return ids[0];
    }

    /** The string of one token id. */
    default String toSingleStrToken(long id) {
        return textEncoder().tokenizer().decodeToken(id);
    }

    /** The position of the first or last occurrence of the single token {@code token} in {@code input}. */
    default int getTokenPosition(String token, String input, TokenPosition mode) {
        return getTokenPosition(toSingleToken(token), textEncoder().encode(input, TextOptions.defaults()), mode);
    }

    /** The position of {@code token} in token ids [pos] or [1, pos]. */
    default int getTokenPosition(long token, NDArray tokens, TokenPosition mode) {
        return getTokenPosition(token, row(tokens), mode);
    }

    private int getTokenPosition(long token, long[] ids, TokenPosition mode) {
        int found = -1;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == token) {
                found = i;
                if (mode == TokenPosition.FIRST) {
                    break;
                }
            }
        }
        if (found < 0) {
            throw new LoupeException("Token " + token + " ('" + toSingleStrToken(token) + "') does not occur in the input "
                    + toStrTokens(ids));
        }
        return found;
    }

    /** The unembedding direction {@code W_U[:, token]} [d_model] of a single-token string, a copy. */
    default NDArray tokensToResidualDirections(String token, NDManager manager) {
        return tokensToResidualDirections(manager.create(new long[] {toSingleToken(token)}), manager).get(0);
    }

    /** The unembedding directions of token ids [...] as [..., d_model], a copy owned by {@code manager}. */
    default NDArray tokensToResidualDirections(NDArray tokens, NDManager manager) {
        NDArray wU = stateDict().get("unembed.W_U"); // [d_model, d_vocab_out]
        NDArray columns = wU.get(manager, new NDIndex(":, {}", tokens.toType(DataType.INT64, false).flatten()));
        Shape shape = tokens.getShape().addAll(new Shape(config().dModel()));
        return columns.transpose().reshape(shape);
    }

    // ---- running on text --------------------------------------------------------------------

    /** Logits [1, pos, d_vocab_out] of {@code text}. */
    default NDArray forward(String text, NDManager manager) {
        return forward(List.of(text), TextOptions.defaults(), ForwardOptions.defaults(), manager).logits();
    }

    /** A forward pass on a padded batch of texts; the attention mask comes from the padding. */
    default ModelOutput forward(List<String> texts, TextOptions text, ForwardOptions options, NDManager manager) {
        TokenBatch batch = toTokens(texts, text);
        return forward(batch.idsArray(manager), withMask(batch, options, manager));
    }

    /** The mean next-token loss of {@code text}. */
    default NDArray loss(String text, NDManager manager) {
        return forward(List.of(text), TextOptions.defaults(), ForwardOptions.builder().returnType(ReturnType.LOSS).build(),
                manager).loss();
    }

    /** Logits of {@code text} with {@code hooks} attached for this run only. */
    default NDArray runWithHooks(String text, NDManager manager, HookSpec... hooks) {
        TokenBatch batch = toTokens(List.of(text), TextOptions.defaults());
        return runWithHooks(batch.idsArray(manager), ForwardOptions.defaults(), List.of(hooks)).logits();
    }

    /** As {@link #runWithHooks(String, NDManager, HookSpec...)} for a padded batch. */
    default ModelOutput runWithHooks(List<String> texts, TextOptions text, ForwardOptions options, List<HookSpec> hooks,
            NDManager manager) {
        TokenBatch batch = toTokens(texts, text);
        return runWithHooks(batch.idsArray(manager), withMask(batch, options, manager), hooks);
    }

    /** Every activation of a run on {@code text}; the cache owns everything, the tokens included. */
    default ActivationCache runWithCache(String text) {
        return runWithCache(List.of(text), TextOptions.defaults(), CacheOptions.all());
    }

    /** The activations {@code options} selects for a padded batch of texts; the cache owns everything. */
    ActivationCache runWithCache(List<String> texts, TextOptions text, CacheOptions options);

    /** {@code options} with the batch's padding mask, unless it has a mask already or nothing is padded. */
    private ForwardOptions withMask(TokenBatch batch, ForwardOptions options, NDManager manager) {
        if (options.attentionMask() != null || !batch.isPadded()) {
            return options;
        }
        return options.toBuilder().attentionMask(batch.maskArray(manager)).build();
    }

    private static long[] row(NDArray tokens) {
        Shape shape = tokens.getShape();
        if (shape.dimension() > 2 || (shape.dimension() == 2 && shape.get(0) != 1)) {
            throw new LoupeException("Expected token ids [pos] or [1, pos], got " + shape + "; use toStrings for a batch");
        }
        return tokens.toType(DataType.INT64, false).toLongArray();
    }
}
