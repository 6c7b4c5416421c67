package dev.loupe.analysis.patching;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.cache.ActivationCache;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The batched, layer-skipping sweeps equal TransformerLens's one-forward-per-index loop
 * ({@link PatchOptions#naiveLoop()}) on GPT-2 and on a grouped-query Llama, with TransformerLens's shapes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PatchingTest {
    private static final int POS = 6;
    private static final double ATOL = 1e-5;
    private static final PatchMetric METRIC = PatchMetric.logitDiff(3, 7);

    private NDManager manager;
    private final Map<String, Setup> setups = new java.util.HashMap<>();

    /** A model, clean and corrupted tokens [1, POS], and the clean cache. */
    private record Setup(HookedTransformer model, NDArray clean, NDArray corrupted, ActivationCache cache) {}

    @BeforeAll
    void load() {
        manager = NDManager.newBaseManager();
        for (String name : List.of("gpt2", "llama")) {
            HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(name));
            NDArray ids = Fixtures.readAll(Fixtures.model(name).resolve("reference.safetensors"), manager)
                    .get("input_ids");
            NDArray clean = ids.get(new NDIndex("0:1, 0:{}", POS));
            NDArray corrupted = corrupt(clean, model.config().dVocab());
            setups.put(name, new Setup(model, clean, corrupted, model.runWithCache(clean)));
        }
    }

    @AfterAll
    void close() {
        setups.values().forEach(s -> {
            s.cache().close();
            s.model().close();
        });
        manager.close();
    }

    /** Positions 2 and 5 changed: earlier positions stay identical, so skipping has something to skip. */
    private NDArray corrupt(NDArray tokens, int vocab) {
        long[] ids = tokens.toLongArray();
        for (int p : new int[] {2, 5}) {
            ids[p] = (ids[p] + 7) % vocab;
        }
        if (tokens.getShape().get(0) > 1) {
            ids[POS + 3] = (ids[POS + 3] + 11) % vocab; // the second row differs elsewhere
        }
        return manager.create(ids, tokens.getShape());
    }

    static Stream<Arguments> families() {
        return Stream.of("gpt2", "llama").flatMap(m -> Stream.of(PatchFamily.values()).map(f -> Arguments.of(m, f)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("families")
    void everyFamilyEqualsTheNaiveLoopWithTransformerLensShape(String modelName, PatchFamily family) {
        Setup s = setups.get(modelName);
        try (NDArray naive = family.run(s.model(), s.corrupted(), s.cache(), METRIC, PatchOptions.naiveLoop());
             NDArray fast = family.run(s.model(), s.corrupted(), s.cache(), METRIC);
             NDArray unskipped = family.run(s.model(), s.corrupted(), s.cache(), METRIC,
                     PatchOptions.defaults().withSkipUnchanged(false).withMaxRunsPerBatch(5))) {
            assertThat(naive.getShape().getShape()).isEqualTo(expectedShape(s.model(), family));
            assertClose(family + " fast", fast, naive, ATOL);
            assertClose(family + " unskipped, batches of 5", unskipped, naive, ATOL);
        }
    }

    private static long[] expectedShape(HookedTransformer model, PatchFamily family) {
        long l = model.config().nLayers();
        long h = model.config().nHeads();
        long kv = model.config().kvHeads();
        return switch (family) {
            case RESID_PRE, RESID_MID, ATTN_OUT, MLP_OUT -> new long[] {l, POS};
            case ATTN_HEAD_OUT_BY_POS, ATTN_HEAD_Q_BY_POS -> new long[] {l, POS, h};
            case ATTN_HEAD_K_BY_POS, ATTN_HEAD_V_BY_POS -> new long[] {l, POS, kv};
            case ATTN_HEAD_OUT_ALL_POS, ATTN_HEAD_Q_ALL_POS, ATTN_HEAD_PATTERN_ALL_POS -> new long[] {l, h};
            case ATTN_HEAD_K_ALL_POS, ATTN_HEAD_V_ALL_POS -> new long[] {l, kv};
            case ATTN_HEAD_PATTERN_BY_POS -> new long[] {l, h, POS};
            case ATTN_HEAD_PATTERN_DEST_SRC_POS -> new long[] {l, h, POS, POS};
        };
    }

    @Test
    void llamaKeysAndValuesHaveTheKeyValueHeadCount() {
        Setup s = setups.get("llama");
        assertThat(s.model().config().kvHeads()).isLessThan(s.model().config().nHeads());
        try (NDArray k = Patching.attnHeadKByPos(s.model(), s.corrupted(), s.cache(), METRIC)) {
            assertThat(k.getShape().getShape()).containsExactly(2, POS, 2);
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void patchingCleanIntoCleanGivesTheCleanMetricEverywhere(String modelName) {
        Setup s = setups.get(modelName);
        float cleanMetric = METRIC.apply(s.cache().logits());
        PatchOptions noSkip = PatchOptions.defaults().withSkipUnchanged(false);
        for (PatchFamily family : List.of(PatchFamily.RESID_PRE, PatchFamily.ATTN_HEAD_OUT_BY_POS,
                PatchFamily.ATTN_HEAD_PATTERN_DEST_SRC_POS, PatchFamily.ATTN_HEAD_V_ALL_POS)) {
            try (NDArray result = family.run(s.model(), s.clean(), s.cache(), METRIC, noSkip);
                 NDArray expected = manager.full(result.getShape(), cleanMetric)) {
                assertClose(family + " clean into clean", result, expected, ATOL);
            }
        }
    }

    static Stream<String> models() {
        return Stream.of("gpt2", "llama");
    }

    @ParameterizedTest
    @MethodSource("models")
    void aggregatesStackTheFamiliesAsTransformerLens(String modelName) {
        Setup s = setups.get(modelName);
        HookedTransformer m = s.model();
        long l = m.config().nLayers();
        long h = m.config().nHeads();
        long kv = m.config().kvHeads();
        try (NDManager scope = manager.newSubManager()) {
            NDArray corrupted = s.corrupted().duplicate();
            corrupted.attach(scope);
            NDArray block = Patching.blockEvery(m, corrupted, s.cache(), METRIC);
            assertThat(block.getShape().getShape()).containsExactly(3, l, POS);
            assertClose("block[2] = mlp_out", block.get(2), Patching.mlpOut(m, corrupted, s.cache(), METRIC), ATOL);

            NDArray allPos = Patching.attnHeadAllPosEvery(m, corrupted, s.cache(), METRIC);
            assertThat(allPos.getShape().getShape()).containsExactly(5, l, h);
            assertClose("allPos[2] = k, zero-padded", allPos.get(new NDIndex("2, :, 0:{}", kv)),
                    Patching.attnHeadKAllPos(m, corrupted, s.cache(), METRIC), ATOL);
            if (kv < h) {
                assertThat(allPos.get(new NDIndex("2:4, :, {}:", kv)).abs().sum().getFloat()).isZero();
            }
            assertClose("allPos[4] = pattern", allPos.get(4),
                    Patching.attnHeadPatternAllPos(m, corrupted, s.cache(), METRIC), ATOL);

            NDArray byPos = Patching.attnHeadByPosEvery(m, corrupted, s.cache(), METRIC);
            assertThat(byPos.getShape().getShape()).containsExactly(5, l, POS, h);
            assertClose("byPos[4] = pattern by dest, [layer, pos, head]", byPos.get(4),
                    Patching.attnHeadPatternByPos(m, corrupted, s.cache(), METRIC).transpose(0, 2, 1), ATOL);
            assertClose("byPos[3] = v, zero-padded", byPos.get(new NDIndex("3, :, :, 0:{}", kv)),
                    Patching.attnHeadVByPos(m, corrupted, s.cache(), METRIC), ATOL);
        }
    }

    @Test
    void corruptedBatchOfTwoGroupsEachRunsRows() {
        Setup s = setups.get("gpt2");
        HookedTransformer m = s.model();
        try (NDManager scope = manager.newSubManager()) {
            NDArray ids = Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), scope)
                    .get("input_ids").get(new NDIndex(":, 0:{}", POS));
            NDArray corrupted = corrupt(ids, m.config().dVocab());
            corrupted.attach(scope);
            try (ActivationCache clean = m.runWithCache(ids)) {
                for (PatchFamily family : List.of(PatchFamily.RESID_PRE, PatchFamily.ATTN_HEAD_Q_BY_POS,
                        PatchFamily.ATTN_HEAD_PATTERN_ALL_POS)) {
                    NDArray naive = family.run(m, corrupted, clean, METRIC, PatchOptions.naiveLoop());
                    assertClose(family + " batch 2", family.run(m, corrupted, clean, METRIC), naive, ATOL);
                    assertClose(family + " batch 2, batches of 3 runs", family.run(m, corrupted, clean, METRIC,
                            PatchOptions.defaults().withSkipUnchanged(false).withMaxRunsPerBatch(3)), naive, ATOL);
                }
            }
        }
    }

    @Test
    void customSetterAndMetricWorkInTheBatchedSweep() {
        Setup s = setups.get("llama");
        // The same patch as LAYER_POS_HEAD_VECTOR, written as a plain lambda: takes the per-run path.
        PatchSetter custom = (corrupted, index, clean) -> {
            NDIndex at = new NDIndex(":, {}, {}", index[1], index[2]);
            try (NDArray piece = clean.get(at)) {
                corrupted.set(at, piece);
            }
            return corrupted;
        };
        // The logit difference as a Metric (NDArray → scalar NDArray), evaluated per run.
        PatchMetric metric = PatchMetric.of(logits -> logits.get(new NDIndex(":, -1, 3"))
                .sub(logits.get(new NDIndex(":, -1, 7"))).mean());
        List<Axis> axes = List.of(Axis.of("layer"), Axis.of("pos"), Axis.of("head_index"));
        try (NDArray expected = Patching.generic(s.model(), s.corrupted(), s.cache(), METRIC, "z", axes,
                     PatchSetters.LAYER_POS_HEAD_VECTOR, PatchOptions.naiveLoop());
             NDArray actual = Patching.generic(s.model(), s.corrupted(), s.cache(), metric, "z", axes, custom,
                     PatchOptions.defaults().withMaxRunsPerBatch(7))) {
            assertClose("custom setter and metric", actual, expected, ATOL);
        }
    }

    @Test
    void explicitIndicesGiveTheSweepsEntriesInTheirOrder() {
        Setup s = setups.get("gpt2");
        List<int[]> indices = List.of(new int[] {1, 3, 2}, new int[] {0, 0, 1}, new int[] {1, 5, 0}, new int[] {0, 4, 3});
        try (NDArray full = Patching.attnHeadOutByPos(s.model(), s.corrupted(), s.cache(), METRIC);
             NDArray fast = Patching.genericAt(s.model(), s.corrupted(), s.cache(), METRIC, "z", indices,
                     PatchSetters.LAYER_POS_HEAD_VECTOR, PatchOptions.defaults());
             NDArray naive = Patching.genericAt(s.model(), s.corrupted(), s.cache(), METRIC, "z", indices,
                     PatchSetters.LAYER_POS_HEAD_VECTOR, PatchOptions.naiveLoop())) {
            float[] expected = new float[indices.size()];
            for (int i = 0; i < expected.length; i++) {
                int[] at = indices.get(i);
                expected[i] = full.getFloat(at[0], at[1], at[2]);
            }
            assertClose("fast", fast, manager.create(expected), ATOL);
            assertClose("naive", naive, manager.create(expected), ATOL);
        }
    }

    @Test
    void unchangedPrefixIsSkippedWithTheCorruptedMetric() {
        Setup s = setups.get("gpt2");
        // Tokens 0 and 1 are shared: their embeddings, resid_pre of layer 0, are bit for bit the same,
        // so those patches are skipped and give exactly the corrupted metric. (Later layers may differ
        // in the last bit, since the other positions differ, and are then run.)
        NDArray corruptedLogits = s.model().forward(s.corrupted());
        float corruptedMetric = METRIC.apply(corruptedLogits);
        try (NDArray result = Patching.residPre(s.model(), s.corrupted(), s.cache(), METRIC)) {
            assertThat(result.get(new NDIndex("0, 0:2")).toFloatArray()).containsOnly(corruptedMetric);
            try (NDArray prefix = result.get(new NDIndex(":, 0:2"))) {
                assertClose("unchanged prefix", prefix, s.corrupted().getManager().full(prefix.getShape(),
                        corruptedMetric), ATOL);
            }
            assertThat(result.get(new NDIndex("0, 2")).getFloat()).isNotEqualTo(corruptedMetric);
        }
        // The fast sweep ends its runs early from a hook: no hook may be left behind.
        // (A stop hook left behind would throw; a patch hook would move the corrupted logits.)
        assertClose("logits after sweeps", s.model().forward(s.corrupted()), corruptedLogits, ATOL);
    }
}
