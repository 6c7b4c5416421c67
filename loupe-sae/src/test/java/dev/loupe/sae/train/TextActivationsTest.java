package dev.loupe.sae.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TokenChunks;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A text corpus is harvested in the sequences {@link TokenChunks} cuts it into: the first chunk of activations is
 * the hook's activations of the first sequences, run as a batch by the model itself.
 */
class TextActivationsTest {

    @Test
    void aTextCorpusIsHarvestedInItsChunks() {
        List<String> documents = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            documents.add("Document " + i + " says that the quick brown fox jumps over " + i + " lazy dogs, twice.");
        }
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
                NDManager manager = NDManager.newBaseManager()) {
            TokenChunks chunks = TokenChunks.of(documents, model.tokenizer(), 16);
            ModelActivations source = ModelActivations.fromText(model, chunks, TrainingFixture.HOOK, 32, 3, manager);
            assertThat(source.shape()).containsExactly(chunks.chunks().size(), 16);
            NDArray first = source.next(manager);
            NDArray ids = manager.create(chunks.batch(0, 3), new Shape(3, 16));
            try (ActivationCache cache = model.runWithCache(ids, CacheOptions.filtered(TrainingFixture.HOOK::equals))) {
                assertThat(first.toFloatArray()).isEqualTo(cache.get(TrainingFixture.HOOK).reshape(-1, 32).toFloatArray());
            }
            assertThat(source.position()).isEqualTo(3);
        }
    }
}
