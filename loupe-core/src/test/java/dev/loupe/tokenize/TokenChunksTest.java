package dev.loupe.tokenize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import dev.loupe.testing.Fixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** chunk_and_tokenize's rules on the real GPT-2 tokenizer. */
class TokenChunksTest {
    private static Tokenizer tokenizer;

    @BeforeAll
    static void open() {
        tokenizer = Tokenizer.fromModelDir(Fixtures.model("gpt2-tok"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void documentsAreJoinedWithALeadingEosCutIntoEqualChunksAndTheLastChunkDropped() {
        List<String> documents = List.of("The cat sat on the mat.", "A dog barked at the moon all night long.",
                "Rain fell on the quiet town.");
        String joined = "<|endoftext|>" + String.join("<|endoftext|>", documents);
        long[] all = tokenizer.encode(joined);
        TokenChunks chunks = TokenChunks.of(documents, tokenizer, 5);
        assertThat(chunks.chunks()).hasSize((all.length + 4) / 5 - 1);
        assertThat(chunks.chunks().get(0)[0]).isEqualTo(tokenizer.eosId());
        List<Long> flat = new ArrayList<>();
        chunks.chunks().forEach(c -> {
            assertThat(c).hasSize(5);
            for (long id : c) {
                flat.add(id);
            }
        });
        for (int i = 0; i < flat.size(); i++) {
            assertThat(flat.get(i)).isEqualTo(all[i]);
        }
        double expected = (double) all.length / joined.getBytes(StandardCharsets.UTF_8).length / Math.log(2);
        assertThat(chunks.natsToBitsPerByte()).isEqualTo(expected);
        // Exactly divisible: the last full chunk goes too, as in the library.
        int exact = all.length;
        assertThatThrownBy(() -> TokenChunks.of(documents, tokenizer, exact)).isInstanceOf(LoupeException.class);
        assertThat(TokenChunks.of(documents, tokenizer, exact / 2 + (exact % 2)).chunks()).hasSize(1);
    }

    @Test
    void tooLittleTextIsRefusedWithTheNumbers() {
        assertThatThrownBy(() -> TokenChunks.of(List.of("Hi"), tokenizer, 128))
                .isInstanceOf(LoupeException.class).hasMessageContaining("not enough for one complete sequence of 128");
    }

    @Test
    void jsonlAndTextFilesAreRead(@TempDir Path dir) throws Exception {
        Path jsonl = dir.resolve("data.jsonl");
        Files.writeString(jsonl, "{\"text\": \"First.\", \"meta\": 1}\n\n{\"text\": \"Second \\u00e9.\"}\n");
        Path txt = dir.resolve("book.txt");
        Files.writeString(txt, "A whole book.\nTwo lines.");
        assertThat(TextDocuments.read(List.of(jsonl, txt), "text"))
                .containsExactly("First.", "Second é.", "A whole book.\nTwo lines.");
        assertThatThrownBy(() -> TextDocuments.read(List.of(jsonl), "content"))
                .hasMessageContaining("line 1 has no text field 'content'");
        Path csv = dir.resolve("data.csv");
        Files.writeString(csv, "x");
        assertThatThrownBy(() -> TextDocuments.read(List.of(csv), "text")).hasMessageContaining("neither .jsonl");
    }
}
