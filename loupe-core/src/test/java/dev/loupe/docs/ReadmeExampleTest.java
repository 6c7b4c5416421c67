package dev.loupe.docs;

import static org.assertj.core.api.Assertions.assertThat;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import org.junit.jupiter.api.Test;

/** The Java example of README.md, line for line, so that it keeps compiling and working. */
class ReadmeExampleTest {

    @Test
    void theReadmeExampleRuns() {
        var dir = Fixtures.model("gpt2-tok");
        // --- README example starts
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir);
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = model.toTokens("The quick brown fox", manager);  // [1, 5]: <|endoftext|>The quick brown fox
            NDArray logits = model.forward(tokens);  // [1, 5, 50257]
            try (ActivationCache cache = model.runWithCache(tokens)) {
                NDArray pattern = cache.get("pattern", 0);  // blocks.0.attn.hook_pattern [1, 4, 5, 5]
                // --- README example pauses
                assertThat(pattern.getShape().toString()).isEqualTo("(1, 4, 5, 5)");
                // --- README example resumes
            }
            NDArray ablated = model.runWithHooks(tokens,  // zero-ablate head 2 of layer 1
                    HookSpec.forward("blocks.1.attn.hook_z", (z, hook) -> { z.set(new NDIndex(":, :, 2"), 0f); return z; }));
            // --- README example ends
            assertThat(tokens.toLongArray()).containsExactly(50256, 464, 2068, 7586, 21831);
            assertThat(logits.getShape().toString()).isEqualTo("(1, 5, 50257)");
            assertThat(ablated.sub(logits).abs().max().getFloat()).isPositive();
        }
    }
}
