/**
 * Text to tokens and back: {@link dev.loupe.tokenize.Tokenizer} (a Hugging Face fast tokenizer
 * through DJL, read from a model folder, that never truncates or pads by itself) and
 * {@link dev.loupe.tokenize.TextEncoder} (TransformerLens's {@code to_tokens}: BOS handling,
 * truncation to {@code n_ctx}, left or right padding), with the values they exchange:
 * {@link dev.loupe.tokenize.TextOptions}, {@link dev.loupe.tokenize.PaddingSide},
 * {@link dev.loupe.tokenize.TokenBatch} (ids and attention mask [batch, pos]) and
 * {@link dev.loupe.tokenize.TokenSpan}; and corpora for training: {@link dev.loupe.tokenize.TextDocuments}
 * reads {@code .jsonl} (a text column) or {@code .txt} files, {@link dev.loupe.tokenize.TokenChunks} cuts them
 * into token sequences of one length as the tuned-lens library's {@code chunk_and_tokenize} does (tuned-lens
 * and SAE training use it).
 *
 * <p>Floor "hooks, text, file formats": it may use {@code dev.loupe}, the numeric helpers,
 * {@code dev.loupe.linalg}, {@code dev.loupe.config} and {@code dev.loupe.run}, not the hooks or
 * file formats beside it. Running the model on strings does not belong here: that is the model's
 * text API ({@code dev.loupe.model.TextMethods}) and {@code dev.loupe.generate}.
 */
package dev.loupe.tokenize;
