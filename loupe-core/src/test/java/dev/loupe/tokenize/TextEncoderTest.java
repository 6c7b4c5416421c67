package dev.loupe.tokenize;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** BOS, truncation and padding as TransformerLens's to_tokens, for both kinds of tokenizer. */
class TextEncoderTest {

    @Test
    void aTokenizerThatAddsNoBosGetsItAsTextUnlessTheModelSaysNo() {
        try (Tokenizer tokenizer = Tokenizer.fromModelDir(Fixtures.model("gpt2-tok"))) {
            TextEncoder prepending = new TextEncoder(tokenizer, true, 1024);
            TextEncoder plain = new TextEncoder(tokenizer, false, 1024);
            assertThat(prepending.encode("Hello", TextOptions.defaults())).containsExactly(50256, 15496);
            assertThat(plain.encode("Hello", TextOptions.defaults())).containsExactly(15496);
            assertThat(plain.encode("Hello", TextOptions.defaults().withPrependBos(true))).containsExactly(50256, 15496);
            assertThat(prepending.encode("Hello", TextOptions.defaults().withPrependBos(false))).containsExactly(15496);
        }
    }

    @Test
    void aTokenizerThatAddsBosItselfIsNeitherDoubledNorKeptWhenUnwanted(@TempDir Path dir) throws IOException {
        // GPT-2's tokenizer with a Llama-style post-processor that puts <|endoftext|> in front of every text.
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(Fixtures.model("gpt2-tok").resolve("tokenizer.json").toFile());
        root.set("post_processor", json.readTree("""
                {"type": "TemplateProcessing",
                 "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                 "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                 "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [50256], "tokens": ["<|endoftext|>"]}}}
                """));
        json.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        Files.copy(Fixtures.model("gpt2-tok").resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        try (Tokenizer tokenizer = Tokenizer.fromModelDir(dir)) {
            assertThat(tokenizer.prependsBos()).isTrue();
            TextEncoder prepending = new TextEncoder(tokenizer, true, 1024);
            assertThat(prepending.encode("Hello", TextOptions.defaults())).containsExactly(50256, 15496);
            assertThat(prepending.encode("Hello", TextOptions.defaults().withPrependBos(false))).containsExactly(15496);
        }
    }

    @Test
    void padsWithThePadTokenOnEitherSideAndMasksThePadding() {
        try (Tokenizer tokenizer = Tokenizer.fromModelDir(Fixtures.model("gpt2-tok"))) {
            TextEncoder encoder = new TextEncoder(tokenizer, true, 1024);
            List<String> texts = List.of("Hello, world!", "Hi");
            TokenBatch right = encoder.encode(texts, TextOptions.defaults());
            assertThat(right.ids()[1]).containsExactly(50256, 17250, 50256, 50256, 50256);
            assertThat(right.attentionMask()[1]).containsExactly(1, 1, 0, 0, 0);
            TokenBatch left = encoder.encode(texts, TextOptions.defaults().withPaddingSide(PaddingSide.LEFT));
            assertThat(left.ids()[1]).containsExactly(50256, 50256, 50256, 50256, 17250);
            assertThat(left.attentionMask()[1]).containsExactly(0, 0, 0, 1, 1);
            assertThat(left.lengths()).containsExactly(5, 2);
            assertThat(left.isPadded()).isTrue();
        }
    }

    @Test
    void truncationKeepsTheFirstNCtxTokensIncludingBos() {
        try (Tokenizer tokenizer = Tokenizer.fromModelDir(Fixtures.model("gpt2-tok"))) {
            TextEncoder encoder = new TextEncoder(tokenizer, true, 4);
            assertThat(encoder.encode("a b c d e f", TextOptions.defaults())).containsExactly(50256, 64, 275, 269);
            assertThat(encoder.encode("a b c d e f", TextOptions.defaults().withTruncate(false))).hasSize(7);
        }
    }
}
