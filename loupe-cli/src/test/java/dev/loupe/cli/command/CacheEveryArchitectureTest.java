package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code loupe cache --no-processing} on every fixture architecture and variant: logits equal Hugging Face's. */
class CacheEveryArchitectureTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt_neox", "llama", "gpt_neo", "gptj", "opt", "mistral", "qwen2", "gemma", "phi",
        "bloom", "gemma2", "gemma3_text", "qwen3", "olmo2", "phi3", "mixtral",
        "extra/qwen2_theta", "extra/gemma_headdim", "extra/bloom_6heads", "extra/llama3_rope_scaling",
        "extra/gpt_neox_old_config", "extra/gpt2_bf16", "extra/gpt2_f16", "extra/llama_sharded"})
    void cachesEveryModel(String name) {
        Path dir = Path.of("..", "testdata", "models").resolve(name);
        Path reference = dir.resolve("reference.safetensors");
        Path out = tmp.resolve("out.safetensors");
        CliTestSupport.Result result = run("cache", "--model", dir.toString(), "--input", reference.toString(),
                "--out", out.toString(), "--no-processing", "--hooks", ".*hook_(pattern|resid_post)");
        assertThat(result.exitCode()).as(result.err()).isZero();
        try (SafetensorsFile written = SafetensorsFile.open(out)) {
            assertThat(written.names()).contains("blocks.0.attn.hook_pattern", "blocks.1.hook_resid_post", "logits");
        }
        CliTestSupport.assertClose(name + " logits", CliTestSupport.floats(out, "logits"),
                CliTestSupport.floats(reference, "logits"), 1e-4);
    }
}
