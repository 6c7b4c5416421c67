package dev.loupe.model.components;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.numeric.GroupedGemm;
import dev.loupe.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Mixtral's experts in two grouped products a layer against the same experts run one by one (libtorch's products,
 * {@code -Dloupe.groupedGemm=false}): the same logits, the same hooks in the same order with the same rows, and a
 * hook's edit (a strided array included) counted the same.
 */
class GroupedExpertsTest {
    private static NDManager manager;
    private static HookedTransformer model;
    private static NDArray tokens;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("mixtral"));
        manager.getEngine().setRandomSeed(3);
        tokens = manager.randomInteger(0, model.config().dVocab(), new Shape(2, 16), DataType.INT64);
    }

    @AfterAll
    static void close() {
        model.close();
        manager.close();
    }

    @Test
    void groupedAndOneByOneGiveTheSameLogits() {
        List<float[]> logits = both(() -> model.forward(tokens).toFloatArray());
        assertThat(maxDifference(logits.get(0), logits.get(1))).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void expertHooksFireInTheSameOrderWithTheSameRowsAndTheirEditsCount() {
        List<List<String>> fired = new ArrayList<>();
        List<float[]> logits = both(() -> {
            List<String> seen = new ArrayList<>();
            fired.add(seen);
            List<HookSpec> hooks = new ArrayList<>();
            for (int e = 0; e < model.config().numExperts(); e++) {
                for (String point : List.of("hook_gate", "hook_pre", "hook_post")) {
                    hooks.add(HookSpec.forward("blocks.1.mlp.experts." + e + "." + point, (a, p) -> {
                        seen.add(p.name() + " " + a.getShape());
                        return null;
                    }));
                }
            }
            // Expert 2's hidden layer doubled, handed back strided (a transposed copy), and expert 0's gate zeroed.
            hooks.add(HookSpec.forward("blocks.1.mlp.experts.2.hook_post",
                    (a, p) -> a.mul(2).transpose().flatten().reshape(a.getShape().get(1), a.getShape().get(0)).transpose()));
            hooks.add(HookSpec.forward("blocks.1.mlp.experts.0.hook_gate", (a, p) -> a.zerosLike()));
            return model.runWithHooks(tokens, hooks.toArray(HookSpec[]::new)).toFloatArray();
        });
        assertThat(fired.get(0)).hasSize(3 * model.config().numExperts()).containsExactlyElementsOf(fired.get(1));
        assertThat(fired.get(0).get(0)).startsWith("blocks.1.mlp.experts.0.hook_gate (");
        assertThat(maxDifference(logits.get(0), logits.get(1))).isLessThanOrEqualTo(1e-5);
        float[] plain = model.forward(tokens).toFloatArray();
        assertThat(maxDifference(logits.get(0), plain)).as("the edits change the logits").isGreaterThan(1e-3);
    }

    /** What {@code run} gives with grouped products (first) and with the experts one by one (second). */
    private static <T> List<T> both(Supplier<T> run) {
        assertThat(GroupedGemm.available()).as("this machine's libtorch has MKL's grouped products").isTrue();
        T grouped = run.get();
        System.setProperty(GroupedGemm.PROPERTY, "false");
        try {
            return List.of(grouped, run.get());
        } finally {
            System.clearProperty(GroupedGemm.PROPERTY);
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
