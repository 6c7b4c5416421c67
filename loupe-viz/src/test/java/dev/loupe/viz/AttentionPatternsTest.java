package dev.loupe.viz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TokenDisplay;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class AttentionPatternsTest {
    @Test
    void patternsFromTheCacheAreHuggingFacesAttentions() {
        long[] ids = Reference.longs("p1.input_ids");
        int pos = ids.length;
        HookedTransformer model = SharedModels.gpt2Tok();
        try (NDManager manager = NDManager.newBaseManager();
                ActivationCache cache = model.runWithCache(manager.create(ids).reshape(1, pos),
                        CacheOptions.matching(".*hook_pattern"))) {
            List<String> tokens = TokenDisplay.labels(model.tokenizer(), ids);
            for (int layer = 0; layer < 2; layer++) {
                AttentionPatterns patterns = AttentionPatterns.fromCache(cache, layer, 0, tokens);
                float[] hf = Reference.floats("p1.attentions." + layer); // [1, head, query, key]
                assertThat(patterns.layer()).isEqualTo(layer);
                assertThat(patterns.nHeads()).isEqualTo(4);
                assertThat(patterns.nPos()).isEqualTo(pos);
                for (int h = 0; h < 4; h++) {
                    for (int q = 0; q < pos; q++) {
                        double sum = 0;
                        for (int k = 0; k < pos; k++) {
                            float w = patterns.pattern()[h][q][k];
                            assertThat(w).isCloseTo(hf[(h * pos + q) * pos + k], within(1e-5f));
                            sum += w;
                        }
                        assertThat(sum).isCloseTo(1.0, within(1e-5));
                    }
                }
            }
            assertThatThrownBy(() -> AttentionPatterns.fromCache(cache, 0, 0, tokens.subList(0, 3)))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("3 token labels");
            assertThatThrownBy(() -> AttentionPatterns.fromCache(cache, 5, 0, tokens))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("blocks.5.attn.hook_pattern");
            assertThatThrownBy(() -> AttentionPatterns.fromCache(cache, 0, 1, tokens))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("batch of 1");
        }
    }

    @Test
    void labelsShowSpacesAndControlCharacters() {
        assertThat(TokenDisplay.display(" fox")).isEqualTo("␣fox");
        assertThat(TokenDisplay.display("\n\t\u0007")).isEqualTo("\\n\\t\\x07");
        assertThat(TokenDisplay.shorten("abcdef", 4)).isEqualTo("abc…");
        assertThat(TokenDisplay.shorten("😀😀😀", 3)).isEqualTo("😀😀😀");
        try (HookedTransformer noTokenizer = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"))) {
            assertThat(noTokenizer.hasTokenizer()).isFalse();
            assertThat(TokenDisplay.labels(null, new long[] {1, 2})).containsExactly("#1", "#2");
        }
    }

    @Test
    void shapesAreChecked() {
        float[][][] oneHead = {{{1f}}};
        assertThatThrownBy(() -> new AttentionPatterns(0, List.of("a", "b"), oneHead))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pos = 2");
        assertThatThrownBy(() -> new AttentionPatterns(0, Collections.emptyList(), new float[0][][]))
                .hasMessageContaining("at least one head");
    }
}
