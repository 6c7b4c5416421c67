package dev.loupe.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StopSignal;
import dev.loupe.stop.StoppedException;
import dev.loupe.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Generation's limits (issue 19): the prompt and the new tokens must fit n_ctx, refused before any
 * memory is set aside (2^31 - 1 new tokens used to end in NegativeArraySizeException, 2e9 in
 * OutOfMemoryError); and a requested {@link StopSignal} stops between tokens.
 */
class GeneratorLimitsTest {
    /** Tiny GPT-2 with n_ctx 128. */
    private static HookedTransformer model;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void tooManyNewTokensForTheContextAreRefusedBeforeAnyWork() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray prompt = manager.create(new long[][] {{1, 2, 3, 4, 5}});
            for (int tooMany : new int[] {Integer.MAX_VALUE, 2_000_000_000, 124}) {
                assertThatThrownBy(() -> Generator.generate(model, prompt, null, GenerateOptions.greedy(tooMany)
                        .withStopAtEos(false), null))
                        .isInstanceOf(LoupeException.class)
                        .hasMessage("The prompt's 5 positions and maxNewTokens " + tooMany + " make " + (5L + tooMany)
                                + ", more than the model's context (n_ctx 128); at most 123 new tokens fit after this"
                                + " prompt");
            }
            NDArray all = Generator.generate(model, prompt, null, GenerateOptions.greedy(123).withStopAtEos(false),
                    null);
            assertThat(all.getShape().getShape()).containsExactly(1, 128);
            NDArray tooLong = manager.zeros(new Shape(1, 130), DataType.INT64);
            assertThatThrownBy(() -> Generator.generate(model, tooLong, null, GenerateOptions.greedy(0), null))
                    .isInstanceOf(LoupeException.class)
                    .hasMessage("The prompt has 130 positions, more than the model's context (n_ctx 128); shorten it");
        }
    }

    @Test
    void aStopRequestEndsGenerationBetweenTokens() {
        StopSignal signal = new StopSignal();
        List<Integer> steps = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager(); StopSignal.Binding bound = signal.bind()) {
            NDArray prompt = manager.create(new long[][] {{1, 2, 3}});
            assertThatThrownBy(() -> Generator.generate(model, prompt, null, GenerateOptions.greedy(20)
                    .withStopAtEos(false), (step, tokens) -> {
                        steps.add(step);
                        if (step == 4) {
                            signal.request("SIGTERM");
                        }
                    }))
                    .isInstanceOf(StoppedException.class).hasMessage("stopped by SIGTERM after 5 of 20 new tokens");
        }
        assertThat(steps).containsExactly(0, 1, 2, 3, 4);
    }
}
