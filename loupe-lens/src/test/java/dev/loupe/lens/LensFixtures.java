package dev.loupe.lens;

import dev.loupe.testing.Fixtures;
import java.nio.file.Path;

/** The tuned lens fixture (testdata/lens, see testdata/FIXTURES.md) and its base model. */
final class LensFixtures {
    /** config.json + params.pt (+ params.safetensors) as the Python tuned-lens library wrote them. */
    static final Path LENS = Fixtures.ROOT.resolve("lens");
    /** Per-layer logit-lens and tuned-lens logits, hidden states and KL for one prompt. */
    static final Path REFERENCE = LENS.resolve("reference.safetensors");
    /** GPT-2 architecture with the real vocabulary: the model the lens was trained on. */
    static final Path BASE_MODEL = Fixtures.model("gpt2-tok");

    /** The architectures of testdata/models (the first 11 and this project's of the second wave). */
    static final String[] ARCHITECTURES = {"gpt2", "gpt_neox", "llama", "gpt_neo", "gptj", "opt", "mistral", "qwen2",
        "gemma", "phi", "bloom", "gemma2", "gemma3_text", "qwen3", "olmo2", "phi3", "mixtral"};

    private LensFixtures() {}
}
