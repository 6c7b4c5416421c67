/**
 * The weight files of a Hugging Face model folder: {@link dev.loupe.io.WeightSource} gives the
 * folder's tensors by name from the first of {@code model.safetensors}, its shards
 * ({@code model.safetensors.index.json}), {@code pytorch_model.bin} and its shards, whichever format
 * they are in. What it loads are a model's parameters, so they must be floating point: an integer
 * or bool tensor is refused with the file, the tensor and its dtype (the format packages still read
 * those, for token ids and masks).
 *
 * <p>Floor "weight files of a folder": it may use the file formats below it
 * ({@code dev.loupe.io.safetensors}, {@code dev.loupe.io.torch}) and everything under them. Parsing
 * a single file format belongs in those two packages; converting names and layouts to
 * TransformerLens's belongs in {@code dev.loupe.load.spi} and {@code dev.loupe.load.adapters}.
 */
package dev.loupe.io;
