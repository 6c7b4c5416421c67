/**
 * Loading a model folder: {@link dev.loupe.load.ModelLoader} reads a Hugging Face folder
 * ({@code config.json} with safetensors or PyTorch weights) or a Loupe native folder through the
 * adapter of its {@code model_type}, and returns a {@link dev.loupe.load.LoadedModel}: the config,
 * the parameters under TransformerLens's names ({@code blocks.0.attn.W_Q} [n_heads, d_model,
 * d_head], …) and the folder's tokenizer, before any model is built. Before it reads any weight,
 * {@link dev.loupe.load.MemoryCheck} estimates from the config and the checkpoint's headers what the
 * weights will take, and refuses a model that will not fit in the memory available.
 *
 * <p>Floor "loading a folder": it may use {@code dev.loupe.load.adapters} and everything below.
 * Building the model does not belong here: {@code HookedTransformer} in {@code dev.loupe.model}
 * builds itself from a {@code LoadedModel}. Downloading a folder is {@code dev.loupe.hub}; a new
 * architecture goes to {@code dev.loupe.load.adapters}.
 */
package dev.loupe.load;
