/**
 * One adapter per Hugging Face {@code model_type} ({@link dev.loupe.load.adapters.Gpt2Adapter},
 * {@link dev.loupe.load.adapters.GptNeoXAdapter}, {@link dev.loupe.load.adapters.LlamaAdapter} and
 * the Mistral, Qwen2 (and Qwen3), Gemma (and Gemma 2, Gemma 3) and OLMo 2 adapters that extend it,
 * GPT-Neo, GPT-J, OPT, Phi, BLOOM), plus
 * {@link dev.loupe.load.adapters.NativeFormat} for Loupe's own folders (TransformerLens's config keys
 * and parameter names, written by {@link dev.loupe.load.adapters.NativeModelWriter}).
 * {@code Adapters.ALL} lists them all: a new architecture is one more
 * adapter there.
 *
 * <p>Floor "one adapter per architecture": it may use {@code dev.loupe.load.spi} and everything
 * below it. Only what is particular to one architecture belongs here: helpers several adapters
 * share go to {@code dev.loupe.load.spi}, file formats to {@code dev.loupe.io}, and weight
 * processing to {@code dev.loupe.process}.
 */
package dev.loupe.load.adapters;
