package dev.loupe.sae.splice;

import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** One model and one SAE shared by threads: each run gets what it gets alone, spliced or not. */
class SaeThreadsTest {
    @Test
    void threadsWithAndWithoutTheSaeGetWhatEachGetsAlone() throws Exception {
        String name = "gpt2/topk_resid_post_l1";
        try (SaeFixtures fixtures = new SaeFixtures();
             Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            HookedTransformer model = fixtures.model(name);
            NDArray tokens = fixtures.reference(name).get("input_ids");
            NDArray spliced = SaeRuns.runWithSaes(model, tokens, List.of(sae), false);
            NDArray clean = model.forward(tokens);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<Double>> diffs = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    boolean withSae = i % 2 == 0;
                    diffs.add(pool.submit(() -> {
                        try (NDManager own = fixtures.manager().newSubManager()) {
                            NDArray mine = tokens.duplicate();
                            mine.attach(own);
                            NDArray logits = withSae ? SaeRuns.runWithSaes(model, mine, List.of(sae), false)
                                    : model.forward(mine);
                            return maxAbsDiff(logits, withSae ? spliced : clean);
                        }
                    }));
                }
                for (Future<Double> diff : diffs) {
                    assertThat(diff.get()).isZero();
                }
            } finally {
                pool.shutdown();
            }
        }
    }
}
