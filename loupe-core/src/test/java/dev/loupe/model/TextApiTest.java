package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.PaddingSide;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.tokenize.TokenBatch;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Strings in, strings out, on the real-vocabulary GPT-2, as TransformerLens's text API. */
class TextApiTest {
    private static final List<String> PROMPTS =
            List.of("Hello, world!", "The quick brown fox jumps over the lazy dog.", "I can't wait!");

    private static HookedTransformer model;
    private static NDManager manager;
    private static Map<String, NDArray> ref;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        manager = NDManager.newBaseManager();
        ref = Fixtures.readAll(Fixtures.model("gpt2-tok").resolve("reference.safetensors"), manager);
    }

    @AfterAll
    static void close() {
        manager.close();
        model.close();
    }

    @Test
    void theThreePromptsGiveTheReferenceIdsAndLogits() {
        for (int k = 0; k < PROMPTS.size(); k++) {
            NDArray tokens = model.toTokens(PROMPTS.get(k), manager);
            assertThat(tokens.toLongArray()).as(PROMPTS.get(k)).containsExactly(ref.get("p" + k + ".input_ids").toLongArray());
            assertClose("logits of " + PROMPTS.get(k), model.forward(PROMPTS.get(k), manager),
                    ref.get("p" + k + ".logits"), 1e-4);
        }
        assertThat(model.toTokens(List.of("Hello, world!"), TextOptions.defaults()).ids()[0])
                .containsExactly(50256, 15496, 11, 995, 0);
    }

    @ParameterizedTest
    @EnumSource(PaddingSide.class)
    void aPaddedBatchGivesEachPromptsOwnLogitsAtEveryRealPosition(PaddingSide side) {
        TextOptions options = TextOptions.defaults().withPaddingSide(side);
        TokenBatch batch = model.toTokens(PROMPTS, options);
        assertThat(batch.isPadded()).isTrue();
        ModelOutput out = model.forward(PROMPTS, options, ForwardOptions.builder().returnType(ReturnType.BOTH)
                .lossPerToken(true).build(), manager);
        for (int k = 0; k < PROMPTS.size(); k++) {
            int length = batch.lengths()[k];
            int offset = side == PaddingSide.LEFT ? batch.width() - length : 0;
            assertThat(batch.ids()[k][offset]).isEqualTo(50256);
            NDArray alone = ref.get("p" + k + ".logits").get(0);
            assertClose(side + " padded prompt " + k, out.logits().get(k + ", " + offset + ":" + (offset + length)), alone, 1e-4);
            assertClose(side + " loss of prompt " + k, out.loss().get(k + ", " + offset + ":" + (offset + length - 1)),
                    ref.get("p" + k + ".loss_per_token").get(0), 5e-5);
        }
        try (ActivationCache cache = model.runWithCache(PROMPTS, options, dev.loupe.cache.CacheOptions.all())) {
            assertClose(side + " cached logits", cache.logits(), out.logits(), 1e-5);
        }
    }

    @Test
    void tokensBackToStrings() {
        assertThat(model.toStrTokens("Hello, world!")).containsExactly("<|endoftext|>", "Hello", ",", " world", "!");
        assertThat(model.toStrTokens("Hello, world!", TextOptions.defaults().withPrependBos(false)))
                .containsExactly("Hello", ",", " world", "!");
        NDArray tokens = model.toTokens("I can't wait!", manager);
        assertThat(model.toString(tokens)).isEqualTo("<|endoftext|>I can't wait!");
        assertThat(model.toStrTokens(tokens)).hasSize(6);
        assertThat(model.toStrings(model.toTokens(PROMPTS, manager)).get(0))
                .isEqualTo("<|endoftext|>Hello, world!" + "<|endoftext|>".repeat(6));
        assertThat(model.toSingleStrToken(995)).isEqualTo(" world");
    }

    @Test
    void singleTokensAndPositions() {
        assertThat(model.toSingleToken(" world")).isEqualTo(995);
        assertThatThrownBy(() -> model.toSingleToken(" wonderland"))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("not a single token")
                .hasMessageContaining("[ wonder, land]");
        String text = "the cat and the hat";
        assertThat(model.getTokenPosition(" the", text, TokenPosition.FIRST)).isEqualTo(4);
        assertThat(model.getTokenPosition("the", text, TokenPosition.FIRST)).isEqualTo(1);
        NDArray tokens = model.toTokens(text, manager);
        assertThat(model.getTokenPosition(model.toSingleToken(" the"), tokens, TokenPosition.LAST)).isEqualTo(4);
        assertThatThrownBy(() -> model.getTokenPosition(" dog", text, TokenPosition.FIRST))
                .hasMessageContaining("does not occur");
    }

    @Test
    void residualDirectionsAreUnembeddingColumns() {
        NDArray direction = model.tokensToResidualDirections(" world", manager);
        assertClose("W_U[:, 995]", direction, model.stateDict().get("unembed.W_U").get(":, 995"), 0);
        NDArray several = model.tokensToResidualDirections(model.toTokens(PROMPTS, manager), manager);
        assertThat(several.getShape().toString()).isEqualTo("(3, 11, 32)");
        assertClose("batch 1 pos 3", several.get("1, 3"), model.stateDict().get("unembed.W_U").get(":, 7586"), 0);
    }

    @Test
    void truncatesToTheContextOnlyWhenAsked() {
        String longText = "word" + " word".repeat(1499);
        assertThat(model.toTokens(List.of(longText), TextOptions.defaults()).width()).isEqualTo(1024);
        assertThat(model.toTokens(List.of(longText), TextOptions.defaults().withTruncate(false)).width()).isEqualTo(1501);
    }

    @Test
    void textRunsOwnTheirTokens() {
        assertThat(model.loss("The quick brown fox jumps over the lazy dog.", manager).getFloat())
                .isCloseTo(ref.get("p1.loss_per_token").mean().getFloat(), org.assertj.core.data.Offset.offset(5e-5f));
        try (ActivationCache cache = model.runWithCache("Hello, world!")) {
            assertClose("cached logits", cache.logits(), ref.get("p0.logits"), 1e-4);
        }
        NDArray ablated = model.runWithHooks("Hello, world!", manager,
                dev.loupe.hook.HookSpec.forward("blocks.0.attn.hook_z", (z, p) -> z.zerosLike()));
        assertThat(ablated.sub(ref.get("p0.logits")).abs().max().getFloat()).isPositive();
    }

    @Test
    void aModelWithoutATokenizerSaysWhichFilesItLookedFor() {
        try (HookedTransformer bare = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"))) {
            assertThatThrownBy(() -> bare.toTokens("hi", manager))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("tokenizer.json")
                    .hasMessageContaining("merges.txt");
        }
    }
}
