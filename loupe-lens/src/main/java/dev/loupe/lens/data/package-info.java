/**
 * Text to train and evaluate lenses on: {@link dev.loupe.lens.data.EnglishText} is English prose the
 * project generates itself from a fixed seed (also used by the tokenizer benchmark), so no outside text
 * is needed. Corpora are read and chunked by loupe-core ({@link dev.loupe.tokenize.TextDocuments},
 * {@link dev.loupe.tokenize.TokenChunks}), which SAE training shares.
 *
 * <p>Floor "lenses and their data": it may use all of loupe-core, not {@code dev.loupe.lens}
 * beside it. It holds data only: the training loop is {@code dev.loupe.lens.train}, evaluation
 * {@code dev.loupe.lens.eval}.
 */
package dev.loupe.lens.data;
