package dev.loupe.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import dev.loupe.config.WeightDtype;
import dev.loupe.numeric.StateDict;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;

/** The estimate of a folder's weights from its headers, and the refusal of a model that will not fit. */
class MemoryCheckTest {

    @Test
    void theEstimateCountsTheCheckpointsNumbersAndWhatTheModelKeepsBesideThem() {
        // gpt2: 2 layers of d_model 32, vocabulary 512 (a multiple of 64: no padded copy), tied (W_U is a view).
        MemoryCheck.Estimate gpt2 = MemoryCheck.estimate(Fixtures.model("gpt2"));
        long numbers = 512 * 32 + 128 * 32 + 2 * (4 * 32 + 32 * 96 + 96 + 32 * 32 + 32 + 32 * 128 + 128 + 128 * 32 + 32) + 2 * 32;
        assertThat(gpt2.float32Bytes()).isEqualTo(4 * numbers);
        assertThat(gpt2.float16Bytes()).isEqualTo(2 * numbers);
        assertThat(gpt2.bytes(WeightDtype.FLOAT16)).isEqualTo(gpt2.float16Bytes());
        // gpt2-tok: 50,257 tokens, so float32 keeps W_U padded to 50,304 columns beside the tied view.
        MemoryCheck.Estimate tok = MemoryCheck.estimate(Fixtures.model("gpt2-tok"));
        assertThat(tok.float32Bytes() - 2 * tok.float16Bytes()).isEqualTo(4L * 32 * 50304);
        // gemma: its scaled W_E is the stored embedding with a scale, W_U a view of it: one embedding counted.
        MemoryCheck.Estimate gemma = MemoryCheck.estimate(Fixtures.model("gemma"));
        try (LoadedModel loaded = ModelLoader.read(Fixtures.model("gemma"), WeightDtype.FLOAT32)) {
            assertThat(StateDict.scaled(loaded.stateDict(), "embed.W_E")).isPresent();
            long stored = loaded.stateDict().entrySet().stream().filter(e -> !e.getKey().equals("unembed.W_U"))
                    .mapToLong(e -> e.getValue().size()).sum();
            // The state dict's zero biases, which the estimate leaves out, are the difference.
            assertThat(gemma.float32Bytes() / 4).isCloseTo(stored, Percentage.withPercentage(3));
        }
    }

    @Test
    void aModelThatDoesNotFitIsRefusedNamingBothSizesAndTheFix() {
        Path dir = Fixtures.model("gpt2-tok");
        MemoryCheck.Estimate estimate = MemoryCheck.estimate(dir);
        assertThatThrownBy(() -> MemoryCheck.check(dir, estimate, WeightDtype.FLOAT32, estimate.float16Bytes() + 1))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("needs ~0.0 GB in float32 / ~0.0 GB in 16-bit; 0.0 GB available")
                .hasMessageContaining("--dtype float16 (WeightDtype.FLOAT16 in the API)")
                .hasMessageContaining("LOUPE_MEMORY_CHECK=off").hasMessageContaining("-Dloupe.memoryCheck=off");
        assertThatThrownBy(() -> MemoryCheck.check(dir, estimate, WeightDtype.FLOAT16, estimate.float16Bytes() - 1))
                .hasMessageContaining("even in 16-bit it does not fit");
        MemoryCheck.Estimate large = new MemoryCheck.Estimate(36_800_000_000L, 18_400_000_000L);
        assertThatThrownBy(() -> MemoryCheck.check(dir, large, WeightDtype.FLOAT32, 22_000_000_000L))
                .hasMessageContaining("needs ~36.8 GB in float32 / ~18.4 GB in 16-bit; 22.0 GB available");
        assertThatCode(() -> MemoryCheck.check(dir, estimate, WeightDtype.FLOAT16, estimate.float16Bytes()))
                .doesNotThrowAnyException();
        assertThat(MemoryCheck.availableBytes()).isPositive();
    }
}
