/**
 * Text to train and evaluate lenses on: {@link dev.loupe.lens.data.TextDocuments} reads a corpus
 * ({@code .jsonl} with a text column, or {@code .txt}), {@link dev.loupe.lens.data.TokenChunks} cuts
 * it into token sequences of one length as the tuned-lens library's {@code chunk_and_tokenize} does,
 * and {@link dev.loupe.lens.data.EnglishText} is English prose the project generates itself from a
 * fixed seed (also used by the tokenizer benchmark), so no outside text is needed.
 *
 * <p>Floor "lenses and their data": it may use all of loupe-core, not {@code dev.loupe.lens}
 * beside it. It holds data only: the training loop is {@code dev.loupe.lens.train}, evaluation
 * {@code dev.loupe.lens.eval}.
 */
package dev.loupe.lens.data;
