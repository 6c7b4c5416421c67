package dev.loupe.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import java.util.Map;

/**
 * The tiny random GPT-2 of {@code testdata/models/gpt2}, its Hugging Face reference tensors and a
 * manager for the test's own arrays; one per test class.
 *
 * @param model the loaded model, unprocessed
 * @param manager owner of the reference tensors and of what the test creates
 * @param reference {@code reference.safetensors}: input_ids [2, 16], logits, hidden_states.i, …
 */
public record TinyGpt2(HookedTransformer model, NDManager manager, Map<String, NDArray> reference)
        implements AutoCloseable {

    public static TinyGpt2 open() {
        HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
        NDManager manager = NDManager.newBaseManager();
        return new TinyGpt2(model, manager,
                Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), manager));
    }

    /** The reference input, int64 [2, 16]. */
    public NDArray tokens() {
        return reference.get("input_ids");
    }

    @Override
    public void close() {
        manager.close();
        model.close();
    }
}
