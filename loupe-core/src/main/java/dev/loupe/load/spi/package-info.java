/**
 * The contract every architecture adapter fulfils and the helpers adapters share:
 * {@link dev.loupe.load.spi.ArchitectureAdapter} (one Hugging Face {@code model_type} into Loupe's
 * terms: its {@code config.json} into a {@code TransformerConfig}, its weights into TransformerLens's
 * names and layouts), {@link dev.loupe.load.spi.HfConfig} (typed reads of {@code config.json}),
 * {@link dev.loupe.load.spi.HfWeights} (Hugging Face's [out, in] {@code Linear} weights into
 * TransformerLens's [in, out] matrices split per head, such as {@code W_Q} [n_heads, d_model, d_head])
 * and {@link dev.loupe.load.spi.Tensors}.
 *
 * <p>Floor "adapter contract, processing, caches, the Hub": it may use everything up to and
 * including {@code dev.loupe.io}, not the other packages of its floor. Code for one particular
 * architecture goes to {@code dev.loupe.load.adapters}; choosing an adapter and reading a folder
 * goes to {@code dev.loupe.load}.
 */
package dev.loupe.load.spi;
