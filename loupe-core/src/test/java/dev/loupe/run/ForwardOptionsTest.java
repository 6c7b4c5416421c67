package dev.loupe.run;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.TinyGpt2;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Return types, padded batches, and starting or stopping at a layer, as TransformerLens has them. */
class ForwardOptionsTest {
    private static TinyGpt2 gpt2;
    private static HookedTransformer model;
    private static NDManager manager;
    private static Map<String, NDArray> hf;
    private static NDArray tokens;

    @BeforeAll
    static void load() {
        gpt2 = TinyGpt2.open();
        model = gpt2.model();
        manager = gpt2.manager();
        hf = gpt2.reference();
        tokens = hf.get("input_ids");
    }

    @AfterAll
    static void close() {
        gpt2.close();
    }

    @Test
    void returnTypes() {
        ModelOutput both = model.forward(tokens, ForwardOptions.builder().returnType(ReturnType.BOTH).build());
        assertClose("logits", both.logits(), hf.get("logits"), 1e-4);
        assertThat(both.loss().getShape().dimension()).isZero();
        ModelOutput none = model.forward(tokens, ForwardOptions.builder().returnType(ReturnType.NONE).build());
        assertThat(none.logits()).isNull();
        assertThat(none.loss()).isNull();
        ModelOutput loss = model.forward(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS).build());
        assertThat(loss.logits()).isNull();
        assertThat(loss.loss().getFloat()).isEqualTo(both.loss().getFloat());
    }

    @Test
    void oneDimensionalTokensGetABatchDimension() {
        NDArray row = tokens.get(0);
        assertClose("1-D input", model.forward(row), hf.get("logits").get("0:1"), 1e-4);
    }

    @Test
    void aRightPaddedSequenceGivesTheSameLogitsAsTheShortOne() {
        NDArray shortRow = tokens.get("1:2, 0:10");
        NDArray padded = tokens.get("1:2").duplicate();
        padded.set(new ai.djl.ndarray.index.NDIndex(":, 10:"), 0L);
        NDArray batch = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(tokens.get("0:1"), padded), 0);
        long[] maskValues = new long[32];
        for (int i = 0; i < 32; i++) {
            maskValues[i] = i < 16 || i - 16 < 10 ? 1 : 0;
        }
        NDArray mask = manager.create(maskValues, new ai.djl.ndarray.types.Shape(2, 16));
        ModelOutput out = model.forward(batch, ForwardOptions.builder().attentionMask(mask)
                .returnType(ReturnType.BOTH).lossPerToken(true).build());
        assertClose("unpadded row", out.logits().get("0"), hf.get("logits").get("0"), 1e-4);
        assertClose("padded row", out.logits().get("1, 0:10"), model.forward(shortRow).get("0"), 1e-4);
        assertThat(out.loss().get("1, 9:").abs().sum().getFloat()).isZero();
        NDArray shortLoss = model.forward(shortRow, ForwardOptions.builder().returnType(ReturnType.LOSS)
                .lossPerToken(true).build()).loss();
        assertClose("per-token loss of real tokens", out.loss().get("1, 0:9"), shortLoss.get(0), 5e-5);
    }

    @Test
    void aLeftPaddedSequenceCountsPositionsFromItsFirstToken() {
        NDArray shortRow = tokens.get("0:1, 0:12");
        long[] ids = new long[16];
        long[] mask = new long[16];
        long[] real = shortRow.toLongArray();
        for (int i = 0; i < 16; i++) {
            ids[i] = i < 4 ? 0 : real[i - 4];
            mask[i] = i < 4 ? 0 : 1;
        }
        NDArray padded = manager.create(ids, new ai.djl.ndarray.types.Shape(1, 16));
        NDArray maskArray = manager.create(mask, new ai.djl.ndarray.types.Shape(1, 16)).toType(DataType.BOOLEAN, false);
        try (ActivationCache cache = model.runWithCache(padded,
                dev.loupe.cache.CacheOptions.all().withForward(ForwardOptions.builder().attentionMask(maskArray).build()))) {
            assertClose("left-padded logits", cache.logits().get("0, 4:"), model.forward(shortRow).get(0), 1e-4);
            assertThat(cache.get("hook_pos_embed").get("0, 0:4").abs().sum().getFloat()).isZero();
            // A padding query sees no key: its pattern row is 0 rather than NaN.
            assertThat(cache.get("pattern", 0).get("0, :, 0").abs().sum().getFloat()).isZero();
            assertThat(cache.get("attn_scores", 0).get("0, 0, 5, 2").getFloat()).isEqualTo(Float.NEGATIVE_INFINITY);
        }
    }

    @Test
    void stoppingAndStartingAtALayerComposeToTheFullModel() {
        ModelOutput embeddings = model.forward(tokens, ForwardOptions.builder().stopAtLayer(0).build());
        assertClose("stop at 0 = embeddings", embeddings.residual(), hf.get("hidden_states.0"), 1e-4);
        ModelOutput everyBlock = model.forward(tokens, ForwardOptions.builder().stopAtLayer(2).build());
        assertThat(everyBlock.logits()).as("stopAtLayer = n_layers returns the residual, as TransformerLens").isNull();
        assertClose("stop at n_layers", everyBlock.residual(), hf.get("final_norm_input"), 1e-4);
        NDArray mid = model.forward(tokens, ForwardOptions.builder().stopAtLayer(-1).build()).residual();
        assertClose("stop at -1", mid, hf.get("hidden_states.1"), 1e-4);
        ModelOutput rest = model.forward(mid, ForwardOptions.builder().startAtLayer(1).tokens(tokens)
                .returnType(ReturnType.BOTH).lossPerToken(true).build());
        assertClose("start at 1", rest.logits(), hf.get("logits"), 1e-4);
        assertClose("loss from tokens", rest.loss(), hf.get("loss_per_token"), 5e-5);
    }

    @Test
    void badInputsAreNamed() {
        assertThatThrownBy(() -> model.forward(tokens.toType(DataType.FLOAT32, false)))
                .isInstanceOf(LoupeException.class).hasMessageContaining("int64 token ids").hasMessageContaining("startAtLayer");
        assertThatThrownBy(() -> model.forward(tokens.add(1000)))
                .isInstanceOf(LoupeException.class).hasMessageContaining("outside the vocabulary");
        assertThatThrownBy(() -> model.forward(tokens, ForwardOptions.builder().attentionMask(tokens.get(":, 0:3")).build()))
                .hasMessageContaining("attention mask has shape");
        assertThatThrownBy(() -> model.forward(tokens, ForwardOptions.builder().stopAtLayer(7).build()))
                .hasMessageContaining("stopAtLayer = 7");
        NDArray tooLong = manager.zeros(new ai.djl.ndarray.types.Shape(1, 129), DataType.INT64);
        assertThatThrownBy(() -> model.forward(tooLong)).hasMessageContaining("n_ctx = 128");
        assertThatThrownBy(() -> model.forward(hf.get("hidden_states.1"), ForwardOptions.builder().startAtLayer(1)
                .returnType(ReturnType.LOSS).build())).hasMessageContaining("tokens");
    }
}
