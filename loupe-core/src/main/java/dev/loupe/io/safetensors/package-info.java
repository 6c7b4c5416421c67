/**
 * The safetensors file format: {@link dev.loupe.io.safetensors.SafetensorsFile} reads one file,
 * memory-mapped copy-on-write, after validating its whole header against the file's size as the
 * reference implementation does: the tensors' byte ranges must tile the data region exactly, with no
 * gap, overlap or trailing byte (the offsets reach native code, where a bad one would crash the JVM,
 * and a header length off by one would shift every tensor onto its neighbour's bytes);
 * {@link dev.loupe.io.safetensors.SafetensorsWriter} writes files the Hugging Face library reads
 * back, atomically; {@link dev.loupe.io.safetensors.TensorInfo} is one header entry; {@code BandReader}
 * (package-private) converts a tensor a band of rows at a time on a few threads, in file order or straight
 * into TransformerLens's transposed layouts.
 *
 * <p>Floor "hooks, text, file formats": it may use {@code dev.loupe}, the numeric helpers,
 * {@code dev.loupe.linalg}, {@code dev.loupe.config} and {@code dev.loupe.run}, not the other
 * packages of its floor. It knows one format and nothing of models: choosing the weight files of a
 * model folder (shards, index files) goes to {@code dev.loupe.io}, and turning Hugging Face tensor
 * names into TransformerLens's goes to {@code dev.loupe.load.spi} and {@code dev.loupe.load.adapters}.
 */
package dev.loupe.io.safetensors;
