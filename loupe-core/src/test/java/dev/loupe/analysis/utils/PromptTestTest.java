package dev.loupe.analysis.utils;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TextOptions;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link PromptTest} and {@link LmUtils} on the tiny GPT-2 with a real tokenizer (random weights). */
class PromptTestTest {
    private static HookedTransformer model;
    private static NDManager manager;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrained(Path.of("..", "testdata", "models", "gpt2-tok"));
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
        model.close();
    }

    @Test
    void lmAccuracyOnHandWrittenLogits() {
        // argmax per position: 2, 1, 0
        NDArray logits = manager.create(new float[][] {{0, 0, 1, 0}, {0, 1, 0, 0}, {1, 0, 0, 0}}).expandDims(0);
        NDArray tokens = manager.create(new long[][] {{3, 2, 3}});
        assertThat(LmUtils.lmAccuracy(logits, tokens, true).toBooleanArray()).containsExactly(true, false);
        assertThat(LmUtils.lmAccuracy(logits, tokens, false).getFloat()).isEqualTo(0.5f);
    }

    @Test
    void singleAnswerIsScoredAtEveryAnswerToken() {
        String prompt = "The cat sat on the";
        PromptTest.Result r = PromptTest.testPrompt(model, prompt, List.of("mat tonight"), true, null, 5);
        long[] promptIds = model.textEncoder().encode(prompt, TextOptions.defaults());
        long[] answerIds = model.textEncoder().encode(" mat tonight", TextOptions.defaults().withPrependBos(false));
        assertThat(r.promptStrTokens()).hasSize(promptIds.length);
        assertThat(r.positions()).hasSize(answerIds.length);

        // Recompute the first answer token's rank, logit and probability from a plain forward pass.
        NDArray logits = model.forward(manager.create(promptIds).reshape(1, -1)); // [1, pos, vocab]
        float[] last = logits.get(0).get(promptIds.length - 1).toFloatArray();
        int token = (int) answerIds[0];
        int larger = 0;
        double total = 0;
        for (float v : last) {
            larger += v > last[token] ? 1 : 0;
            total += Math.exp(v);
        }
        PromptTest.AnswerToken first = r.positions().get(0).answers().get(0);
        assertThat(first.id()).isEqualTo(token);
        assertThat(first.rank()).isEqualTo(larger);
        assertThat(first.logit()).isCloseTo(last[token], within(1e-4f));
        assertThat((double) first.prob()).isCloseTo(Math.exp(last[token]) / total, within(1e-6));
        List<PromptTest.TopToken> top = r.positions().get(0).top();
        assertThat(top).hasSize(5);
        for (int i = 1; i < top.size(); i++) {
            assertThat(top.get(i).prob()).isLessThanOrEqualTo(top.get(i - 1).prob());
        }

        String[] lines = r.format().split("\n");
        assertThat(lines[0]).startsWith("Tokenized prompt: ['");
        assertThat(lines[1]).isEqualTo("Tokenized answer: " + PromptTest.pyList(r.answerStrTokens().get(0)));
        assertThat(lines[2]).isEqualTo("Performance on answer token:");
        assertThat(lines[3]).matches("Rank: \\d+ +Logit: +-?\\d+\\.\\d\\d Prob: +\\d+\\.\\d\\d% Token: \\| mat\\|");
        assertThat(lines[4]).startsWith("Top 0th token. Logit: ");
        assertThat(lines[lines.length - 1]).startsWith("Ranks of the answer tokens: [(' mat', " + first.rank() + ")");
    }

    @Test
    void severalAnswersCompareFirstTokens() {
        PromptTest.Result r = PromptTest.testPrompt(model, "Hello", List.of("world", " there"), true, null, 3);
        assertThat(r.multipleAnswers()).isTrue();
        assertThat(r.positions()).hasSize(1);
        assertThat(r.positions().get(0).answers()).extracting(PromptTest.AnswerToken::token)
                .containsExactly(" world", " there");
        String text = r.format();
        assertThat(text).contains("Tokenized answers: [[' world'], [' there']]");
        assertThat(text).contains("Performance on answer tokens:");
        assertThat(text).endsWith("Ranks of the answer tokens: [[(' world', "
                + r.positions().get(0).answers().get(0).rank() + "), (' there', "
                + r.positions().get(0).answers().get(1).rank() + ")]]\n");
    }

    @Test
    void pythonReprOfTokens() {
        assertThat(PromptTest.pyRepr("it's")).isEqualTo("\"it's\"");
        assertThat(PromptTest.pyRepr("a\nb")).isEqualTo("'a\\nb'");
        assertThat(PromptTest.pyRepr("'\"")).isEqualTo("'\\'\"'");
    }
}
