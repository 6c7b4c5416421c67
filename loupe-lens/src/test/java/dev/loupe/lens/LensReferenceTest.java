package dev.loupe.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Tests against the Python library's outputs on "Paris is the capital of" (testdata/lens/reference.safetensors)
 * for its base model, loaded unprocessed as the lens was trained.
 */
abstract class LensReferenceTest {
    /** Lens logits, residuals and hidden states (testdata/FIXTURES.md, "Tolerances"). */
    static final double ATOL = 1e-4;
    /** KL values. */
    static final double KL_ATOL = 1e-5;

    static HookedTransformer model;
    static NDManager manager;
    static Map<String, NDArray> reference;

    @BeforeAll
    static void loadReference() {
        model = HookedTransformer.fromPretrainedNoProcessing(LensFixtures.BASE_MODEL);
        manager = NDManager.newBaseManager();
        reference = Fixtures.readAll(LensFixtures.REFERENCE, manager);
    }

    @AfterAll
    static void closeReference() {
        manager.close();
        model.close();
    }
}
