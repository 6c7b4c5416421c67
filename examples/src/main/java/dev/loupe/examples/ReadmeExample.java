package dev.loupe.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;

/**
 * The Java example at the top of README.md, as a program: GPT-2's vocabulary with random weights
 * ({@code testdata/models/gpt2-tok}), logits [1, 5, 50257], the layer-0 attention pattern [1, 4, 5, 5] and a
 * zero-ablated head. Run from the repository root.
 */
public final class ReadmeExample {
    private ReadmeExample() {}

    public static void main(String[] args) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Path.of("testdata/models/gpt2-tok"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = model.toTokens("The quick brown fox", manager);  // [1, 5]: <|endoftext|>The quick brown fox
            NDArray logits = model.forward(tokens);  // [1, 5, 50257]
            try (ActivationCache cache = model.runWithCache(tokens)) {
                NDArray pattern = cache.get("pattern", 0);  // blocks.0.attn.hook_pattern [1, 4, 5, 5]
                System.out.println("blocks.0.attn.hook_pattern " + pattern.getShape());
            }
            NDArray ablated = model.runWithHooks(tokens,  // zero-ablate head 2 of layer 1
                    HookSpec.forward("blocks.1.attn.hook_z", (z, hook) -> { z.set(new NDIndex(":, :, 2"), 0f); return z; }));
            System.out.println("logits " + logits.getShape() + "; ablating L1H2 moves them by at most "
                    + ablated.sub(logits).abs().max().getFloat());
        }
    }
}
