package dev.loupe.tokenize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.CheckpointException;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GPT-2's tokenizer against the 54 cases made with Hugging Face's GPT2TokenizerFast. */
class TokenizerTest {
    private static Tokenizer tokenizer;
    private static JsonNode cases;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.fromModelDir(Fixtures.model("gpt2-tok"));
        cases = Fixtures.json(Fixtures.ROOT.resolve("tokenizer/gpt2/cases.json")).get("cases");
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static long[] longs(JsonNode array) {
        long[] values = new long[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asLong();
        }
        return values;
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(v -> values.add(v.asText()));
        return values;
    }

    @Test
    void everyCaseGivesHuggingFacesIdsTokensAndDecoding() {
        assertThat(cases.size()).isEqualTo(54);
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            assertThat(tokenizer.encode(text, false)).as("ids of %s", text).containsExactly(longs(c.get("ids")));
            assertThat(tokenizer.encode(text)).as("default ids of %s", text)
                    .containsExactly(longs(c.get("ids_with_default_special_tokens")));
            assertThat(tokenizer.tokens(text)).as("tokens of %s", text).containsExactlyElementsOf(strings(c.get("tokens")));
            assertThat(tokenizer.decode(longs(c.get("ids")))).as("decode of %s", text).isEqualTo(c.get("decoded").asText());
            assertThat(tokenizer.decode(tokenizer.encode(text))).as("round trip of %s", text).isEqualTo(text);
        }
    }

    @Test
    void specialTokensFollowTransformerLens() {
        assertThat(tokenizer.eosId()).isEqualTo(50256);
        assertThat(tokenizer.bosId()).isEqualTo(50256);
        assertThat(tokenizer.padId()).as("pad = eos when the model has none").isEqualTo(50256);
        assertThat(tokenizer.prependsBos()).isFalse();
    }

    @Test
    void spansAreJavaStringIndicesEvenAfterAnEmoji() {
        String text = "naïve 🤖 line";
        List<TokenSpan> spans = tokenizer.spans(text);
        TokenSpan last = spans.get(spans.size() - 1);
        // The emoji is 2 UTF-16 units but 1 code point: a code-point offset would cut "ine".
        assertThat(text.substring(last.start(), last.end())).isEqualTo(" line").isEqualTo(tokenizer.decodeToken(last.id()));
        assertThat(spans).extracting(TokenSpan::id).containsExactly(
                java.util.Arrays.stream(tokenizer.encode(text, false)).boxed().toArray(Long[]::new));
    }

    @Test
    void neverTruncatesLongTexts() {
        String text = "word" + " word".repeat(2999);
        assertThat(tokenizer.encode(text)).hasSize(3000);
    }

    @Test
    void vocabAndMergesGiveTheSameIdsAsTokenizerJson(@TempDir Path dir) throws IOException {
        Files.copy(Fixtures.model("gpt2-tok").resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("vocab.json"), VocabFromTokenizerJson.vocab(Fixtures.model("gpt2-tok")));
        Files.writeString(dir.resolve("merges.txt"), VocabFromTokenizerJson.merges(Fixtures.model("gpt2-tok")));
        try (Tokenizer fromPair = Tokenizer.fromModelDir(dir)) {
            for (JsonNode c : cases) {
                String text = c.get("text").asText();
                assertThat(fromPair.encode(text)).as(text).containsExactly(longs(c.get("ids")));
                assertThat(fromPair.decode(longs(c.get("ids")))).as(text).isEqualTo(c.get("decoded").asText());
            }
        }
    }

    @Test
    void aFolderWithoutTokenizerFilesSaysWhatWasLookedFor(@TempDir Path dir) {
        assertThatThrownBy(() -> Tokenizer.fromModelDir(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tokenizer.json")
                .hasMessageContaining("vocab.json")
                .hasMessageContaining("merges.txt");
    }
}
