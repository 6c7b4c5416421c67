package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.LabelledStack;
import dev.loupe.cache.StackOptions;
import dev.loupe.hook.HookSpec;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.testing.Fixtures;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The short forms a TransformerLens user types, each equal to its long form and to the reference numbers. */
class ShortFormsTest {
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

    private static HookSpec zeroHead(int head) {
        return HookSpec.forward("blocks.1.attn.hook_z", (z, hook) -> {
            z.set(new NDIndex(":, :, " + head), 0f);
            return z;
        });
    }

    @Test
    void perTokenLossIsHuggingFacesAndItsMeanIsTheLoss() {
        NDArray tokens = ref.get("p1.input_ids");
        NDArray perToken = model.loss(tokens, true);
        assertClose("per-token loss vs Hugging Face", perToken, ref.get("p1.loss_per_token"), 5e-5);
        assertClose("mean of per-token loss", perToken.mean(), model.loss(tokens), 1e-6);
        assertClose("mean form", model.loss(tokens, false), model.loss(tokens), 0);
    }

    @Test
    void theCachesNoArgumentStacksAreTransformerLensDefaults() {
        try (ActivationCache cache = model.runWithCache(ref.get("p1.input_ids"))) {
            LabelledStack accumulated = cache.accumulatedResid();
            assertThat(accumulated.labels()).isEqualTo(cache.accumulatedResid(StackOptions.defaults()).labels())
                    .hasSize(model.config().nLayers() + 1);
            assertClose("accumulatedResid()", accumulated.stack(), cache.accumulatedResid(StackOptions.defaults()).stack(), 0);
            assertClose("decomposeResid()", cache.decomposeResid().stack(),
                    cache.decomposeResid(StackOptions.defaults()).stack(), 0);
            assertThat(cache.stackHeadResults().labels()).hasSize(model.config().nLayers() * model.config().nHeads())
                    .startsWith("L0H0");
            // The decomposition's components add up to the last residual stream, as TransformerLens's do.
            NDArray last = cache.get("resid_post", model.config().nLayers() - 1);
            assertClose("sum of decomposeResid()", cache.decomposeResid().stack().sum(new int[] {0}), last, 1e-4);
        }
    }

    @Test
    void runWithHooksByReturnTypeEqualsTheLongFormAndTheAblationChangesTheLoss() {
        NDArray tokens = ref.get("p1.input_ids");
        ModelOutput shortForm = model.runWithHooks(tokens, ReturnType.LOSS, zeroHead(2));
        ModelOutput longForm = model.runWithHooks(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS).build(),
                List.of(zeroHead(2)));
        assertThat(shortForm.logits()).isNull();
        assertClose("ablated loss, short vs long form", shortForm.loss(), longForm.loss(), 0);
        float clean = model.loss(tokens).getFloat();
        assertThat(Math.abs(shortForm.loss().getFloat() - clean)).as("zero-ablating head 1.2 changes the loss")
                .isGreaterThan(1e-6f);

        ModelOutput both = model.runWithHooks(tokens, ReturnType.BOTH, zeroHead(2));
        assertClose("logits of BOTH vs the logits-only short form", both.logits(),
                model.runWithHooks(tokens, zeroHead(2)), 1e-6);
        assertClose("loss of BOTH", both.loss(), shortForm.loss(), 1e-6);
        assertThat(model.runWithHooks(tokens, ReturnType.NONE, zeroHead(2)).loss()).isNull();
    }
}
