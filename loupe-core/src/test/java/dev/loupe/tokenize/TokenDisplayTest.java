package dev.loupe.tokenize;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.testing.Fixtures;
import org.junit.jupiter.api.Test;

class TokenDisplayTest {
    @Test
    void spacesLineBreaksAndControlCharactersStayVisible() {
        assertThat(TokenDisplay.display(" fox")).isEqualTo("␣fox");
        assertThat(TokenDisplay.display("\n\t\u0007")).isEqualTo("\\n\\t\\x07");
        assertThat(TokenDisplay.display("<|endoftext|>")).isEqualTo("<|endoftext|>");
        assertThat(TokenDisplay.visible("two words\r\n", false)).isEqualTo("two words\\r\\n");
    }

    @Test
    void shortenCutsCodePointsAndMarksTheCut() {
        assertThat(TokenDisplay.shorten("abcdef", 4)).isEqualTo("abc…");
        assertThat(TokenDisplay.shorten("abcd", 4)).isEqualTo("abcd");
        assertThat(TokenDisplay.shorten("😀😀😀", 3)).isEqualTo("😀😀😀");
        assertThat(TokenDisplay.shorten("😀😀😀😀", 3)).isEqualTo("😀😀…");
    }

    @Test
    void withoutATokenizerTokensAreIds() {
        assertThat(TokenDisplay.texts(null, new long[] {1, 2})).containsExactly("#1", "#2");
        assertThat(TokenDisplay.labels(null, new long[] {1, 2})).containsExactly("#1", "#2");
        assertThat(TokenDisplay.label(null, 7)).isEqualTo("#7");
    }

    @Test
    void withATokenizerTextsAreDecodedAndLabelsDisplayed() {
        try (Tokenizer tokenizer = Tokenizer.fromModelDir(Fixtures.model("gpt2-tok"))) {
            long[] ids = {50256, 464, 2068}; // <|endoftext|>The quick
            assertThat(TokenDisplay.texts(tokenizer, ids)).containsExactly("<|endoftext|>", "The", " quick");
            assertThat(TokenDisplay.labels(tokenizer, ids)).containsExactly("<|endoftext|>", "The", "␣quick");
        }
    }
}
