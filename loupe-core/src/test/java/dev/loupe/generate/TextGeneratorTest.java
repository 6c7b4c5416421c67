package dev.loupe.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.PaddingSide;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Generation from text prompts on the GPT-2 fixture that has a real tokenizer. */
class TextGeneratorTest {
    private static final List<String> PROMPTS = List.of("Hello, world!", "The quick brown fox jumps over the lazy dog.",
            "I can't wait!");
    private static HookedTransformer model;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void aLeftPaddedBatchGeneratesWhatEachPromptGeneratesAlone() {
        GenerateOptions greedy = GenerateOptions.greedy(6).withStopAtEos(false);
        List<long[]> together = TextGenerator.newTokens(model, PROMPTS, greedy);
        for (int i = 0; i < PROMPTS.size(); i++) {
            long[] alone = TextGenerator.newTokens(model, List.of(PROMPTS.get(i)), greedy).get(0);
            assertThat(together.get(i)).as(PROMPTS.get(i)).containsExactly(alone);
        }
        List<long[]> uncached = TextGenerator.newTokens(model, PROMPTS, greedy.withUsePastKvCache(false));
        for (int i = 0; i < PROMPTS.size(); i++) {
            assertThat(uncached.get(i)).containsExactly(together.get(i));
        }
    }

    @Test
    void textComesBackAsThePromptFollowedByItsContinuation() {
        GenerateOptions greedy = GenerateOptions.greedy(5).withStopAtEos(false);
        List<String> texts = TextGenerator.generate(model, PROMPTS, greedy);
        List<long[]> added = TextGenerator.newTokens(model, PROMPTS, greedy);
        for (int i = 0; i < PROMPTS.size(); i++) {
            assertThat(texts.get(i)).isEqualTo(PROMPTS.get(i) + model.tokenizer().decode(added.get(i)));
        }
        assertThat(TextGenerator.generate(model, PROMPTS.get(0), greedy)).isEqualTo(texts.get(0));
        GenerateOptions noBos = greedy.toBuilder().prependBos(false).build();
        assertThat(TextGenerator.generate(model, PROMPTS.get(0), noBos)).startsWith(PROMPTS.get(0));
    }

    @Test
    void rightPaddingOfUnequalPromptsIsRefused() {
        GenerateOptions right = GenerateOptions.greedy(2).toBuilder().paddingSide(PaddingSide.RIGHT).build();
        assertThatThrownBy(() -> TextGenerator.newTokens(model, PROMPTS, right))
                .isInstanceOf(LoupeException.class).hasMessageContaining("PaddingSide.LEFT");
        assertThat(TextGenerator.newTokens(model, List.of(PROMPTS.get(0)), right).get(0)).hasSize(2);
    }

    @Test
    void samplingWithASeedIsReproducibleAndStopsAtEos() {
        GenerateOptions sampled = GenerateOptions.greedy(12).withStopAtEos(false).sampling(50, 0.9f, 1.2f, 0.1f, 42L);
        long[] first = TextGenerator.newTokens(model, List.of("Hello"), sampled).get(0);
        long[] again = TextGenerator.newTokens(model, List.of("Hello"), sampled).get(0);
        long[] other = TextGenerator.newTokens(model, List.of("Hello"),
                GenerateOptions.greedy(12).withStopAtEos(false).sampling(50, 0.9f, 1.2f, 0.1f, 43L)).get(0);
        assertThat(again).containsExactly(first);
        assertThat(other).isNotEqualTo(first);
        // Whatever the first greedy token is, declaring it the end of sequence stops every row right there.
        long firstGreedy = TextGenerator.newTokens(model, List.of("Hello"), GenerateOptions.greedy(1)
                .withStopAtEos(false)).get(0)[0];
        long[] stopped = TextGenerator.newTokens(model, List.of("Hello"), GenerateOptions.greedy(5)
                .withEosTokenIds(List.of(firstGreedy))).get(0);
        assertThat(stopped).containsExactly(firstGreedy);
    }

    @Test
    void aFinishedRowKeepsEmittingEosWhileTheOthersGoOn() {
        GenerateOptions greedy = GenerateOptions.greedy(6).withStopAtEos(false);
        List<long[]> free = TextGenerator.newTokens(model, PROMPTS, greedy);
        long eos = free.get(0)[1];
        List<long[]> stopped = TextGenerator.newTokens(model, PROMPTS, greedy.toBuilder().stopAtEos(true)
                .eosTokenIds(List.of(eos)).build());
        long[] row = stopped.get(0);
        assertThat(row[0]).isEqualTo(free.get(0)[0]);
        for (int i = 1; i < row.length; i++) {
            assertThat(row[i]).as("position " + i).isEqualTo(eos);
        }
        for (int i = 0; i < stopped.get(1).length && free.get(1)[i] != eos; i++) {
            assertThat(stopped.get(1)[i]).as("the second row goes on at " + i).isEqualTo(free.get(1)[i]);
        }
    }
}
