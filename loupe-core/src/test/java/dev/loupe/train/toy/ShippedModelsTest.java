package dev.loupe.train.toy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.analysis.heads.DetectionPattern;
import dev.loupe.analysis.heads.HeadDetector;
import dev.loupe.hook.ActName;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.train.TrainingRandom;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The models shipped in the repository's models/ folder have the circuits their MODEL.md cards claim,
 * measured on repeated random sequences they were never trained on (drawn here with another seed).
 */
class ShippedModelsTest {
    /** Surefire runs each module in its own folder, one below the repository root. */
    static final Path INDUCTION_2L = Path.of("../models/induction-2l");
    static final Path ATTN_ONLY_1L = Path.of("../models/attn-only-1l");
    private static final int SEGMENT = 31;
    private static final int BATCH = 16;

    private static HookedTransformer model;
    private static long[] sequences;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(INDUCTION_2L);
        TrainingRandom random = TrainingRandom.seeded(123);
        sequences = new long[BATCH * (1 + 2 * SEGMENT)];
        for (int b = 0; b < BATCH; b++) {
            long[] one = RepeatedTokens.repeatedTwice(random, SEGMENT, model.config().dVocab());
            System.arraycopy(one, 0, sequences, b * one.length, one.length);
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void theRepeatedHalfCostsUnderATenthOfTheFirst() {
        RepeatHalves halves = RepeatHalves.measure(model, sequences, BATCH, List.of());
        assertThat(halves.firstHalf()).as("first half (random tokens)").isGreaterThan(5.0);
        assertThat(halves.repeatedHalf()).as("repeated half vs first half %s", halves)
                .isLessThan(0.1 * halves.firstHalf());
    }

    @Test
    void layerOneHasAnInductionHeadAndLayerZeroAPreviousTokenHead() {
        float[][] induction = scores(DetectionPattern.INDUCTION);
        float[][] previous = scores(DetectionPattern.PREVIOUS_TOKEN);
        assertThat(max(induction[1])).as("best layer-1 induction score").isGreaterThan(0.5f);
        assertThat(max(previous[0])).as("best layer-0 previous-token score").isGreaterThan(0.5f);
    }

    @Test
    void zeroAblatingTheCircuitsHeadsBringsTheRepeatedHalfLossBack() {
        List<HookSpec> inductionHeads = zeroHeads(1, scores(DetectionPattern.INDUCTION)[1]);
        List<HookSpec> previousTokenHeads = zeroHeads(0, scores(DetectionPattern.PREVIOUS_TOKEN)[0]);
        assertThat(inductionHeads).isNotEmpty();
        assertThat(previousTokenHeads).isNotEmpty();
        RepeatHalves clean = RepeatHalves.measure(model, sequences, BATCH, List.of());
        for (List<HookSpec> ablation : List.of(inductionHeads, previousTokenHeads)) {
            RepeatHalves ablated = RepeatHalves.measure(model, sequences, BATCH, ablation);
            assertThat(ablated.repeatedHalf()).as("repeated-half loss with %d head(s) of %s ablated (clean %s)",
                    ablation.size(), ablation.get(0).name(), clean).isGreaterThan(0.5 * ablated.firstHalf());
        }
    }

    @Test
    void theOneLayerModelCannotDoInduction() {
        try (HookedTransformer oneLayer = HookedTransformer.fromPretrainedNoProcessing(ATTN_ONLY_1L)) {
            assertThat(oneLayer.config().nLayers()).isEqualTo(1);
            RepeatHalves halves = RepeatHalves.measure(oneLayer, sequences, BATCH, List.of());
            assertThat(halves.repeatedHalf()).as("1-layer repeated half %s", halves).isGreaterThan(0.3 * halves.firstHalf());
        }
    }

    /** Each head's score averaged over the batch's sequences, attention to BOS left out. */
    private static float[][] scores(DetectionPattern pattern) {
        int pos = 1 + 2 * SEGMENT;
        float[][] sum = new float[model.config().nLayers()][model.config().nHeads()];
        HeadDetector.Options options = HeadDetector.Options.defaults().withExcludeBos(true);
        for (int b = 0; b < BATCH; b++) {
            long[] one = java.util.Arrays.copyOfRange(sequences, b * pos, (b + 1) * pos);
            try (var manager = ai.djl.ndarray.NDManager.newBaseManager()) {
                float[][] s = HeadDetector.detectHead(model, manager.create(one), pattern, null, options);
                for (int l = 0; l < s.length; l++) {
                    for (int h = 0; h < s[l].length; h++) {
                        sum[l][h] += s[l][h] / BATCH;
                    }
                }
            }
        }
        return sum;
    }

    /** One hook per head of {@code layer} whose score is above 0.5, zeroing its slice of {@code hook_z}. */
    private static List<HookSpec> zeroHeads(int layer, float[] scores) {
        List<HookSpec> hooks = new java.util.ArrayList<>();
        for (int head = 0; head < scores.length; head++) {
            if (scores[head] > 0.5f) {
                int h = head;
                // hook_z [batch, pos, head_index, d_head]: this head's output is zero from here on.
                hooks.add(HookSpec.forward(ActName.of("z", layer), (z, point) -> {
                    z.set(new ai.djl.ndarray.index.NDIndex(":, :, {}, :", h), 0f);
                    return z;
                }));
            }
        }
        return hooks;
    }

    private static float max(float[] values) {
        return values[argmax(values)];
    }

    private static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
