package dev.loupe.analysis.evals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.analysis.heads.KnownHeadsModel;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The evals on the tiny GPT-2 with a tokenizer (random weights), and on a model built to do induction. */
class EvalsTest {
    private static HookedTransformer model;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrained(Path.of("..", "testdata", "models", "gpt2-tok"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void sanityCheckIsTheLossOfTheParagraph() {
        float loss = Evals.sanityCheck(model);
        try (NDManager manager = NDManager.newBaseManager()) {
            assertThat(loss).isEqualTo(model.loss(Evals.SANITY_TEXT, manager).getFloat());
        }
        // Random weights: confidently wrong (about 12 nats here), but a finite, positive loss.
        assertThat(loss).isFinite().isBetween(1f, 50f);
    }

    @Test
    void inductionLossIsSeededAndFinite() {
        float a = Evals.inductionLoss(model, 2, 20, 1L);
        float b = Evals.inductionLoss(model, 2, 20, 1L);
        float c = Evals.inductionLoss(model, 2, 20, 2L);
        assertThat(a).isEqualTo(b).isNotEqualTo(c);
        assertThat(a).isFinite().isBetween(1f, 50f);
        int nCtx = model.config().nCtx();
        assertThatThrownBy(() -> Evals.inductionLoss(model, 1, nCtx / 2 + 1, 0L)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("context of " + nCtx);
    }

    @Test
    void inductionModelHasLowInductionLoss() {
        try (HookedTransformer induction = KnownHeadsModel.build()) {
            // 7 of the 12 tokens, twice: 14 positions of the 16. Repeats inside a half make the head
            // split its attention, so the loss is low but not zero.
            float loss = Evals.inductionLoss(induction, 8, 7, false, 3L);
            assertThat(loss).isLessThan(0.5f * (float) Math.log(KnownHeadsModel.VOCAB));
        }
    }

    @Test
    void ioiDatasetIsSeededAndWellFormed() {
        IoiDataset a = IoiDataset.generate(20, false, 5L);
        IoiDataset b = IoiDataset.generate(20, false, 5L);
        assertThat(a.samples()).isEqualTo(b.samples()).hasSize(20);
        assertThat(IoiDataset.generate(20, false, 6L).samples()).isNotEqualTo(a.samples());
        for (IoiDataset.Sample s : a.samples()) {
            assertThat(s.text()).endsWith(s.io());
            assertThat(s.io()).isNotEqualTo(s.s());
            // The subject is named twice, the indirect object twice (once at the end), nothing unfilled.
            assertThat(s.text().split(s.s().trim(), -1)).hasSize(3);
            assertThat(s.text()).doesNotContain("[");
        }
        IoiDataset symmetric = IoiDataset.generate(List.of("[A] met [B]. [B] waved at [A]"), List.of("Ann", "Tom"),
                Map.of(), 6, true, true, 1L);
        assertThat(symmetric.size()).isEqualTo(6);
        IoiDataset.Sample first = symmetric.samples().get(0);
        IoiDataset.Sample swapped = symmetric.samples().get(1);
        assertThat(swapped.io()).isEqualTo(first.s());
        assertThat(swapped.s()).isEqualTo(first.io());
    }

    @Test
    void ioiEvalMatchesAManualLogitDifference() {
        IoiDataset dataset = IoiDataset.generate(6, true, 9L);
        Ioi.Result batched = Ioi.ioiEval(model, dataset, 4);
        Ioi.Result single = Ioi.ioiEval(model, dataset, 1);
        // Right padding never reaches the positions read (attention is causal).
        assertThat(batched.perPrompt()).containsExactly(single.perPrompt(), within(1e-4f));
        assertThat(batched.accuracy()).isBetween(0.0, 1.0);

        IoiDataset.Sample sample = dataset.samples().get(0);
        long[] io = model.tokenizer().encode(sample.io(), false);
        long[] s = model.tokenizer().encode(sample.s(), false);
        int first = 0;
        while (io[first] == s[first]) {
            first++;
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(model.tokenizer().encode(sample.text(), false));
            long[] withBos = new long[(int) tokens.size() + 1];
            withBos[0] = model.tokenizer().bosId();
            System.arraycopy(tokens.toLongArray(), 0, withBos, 1, (int) tokens.size());
            NDArray logits = model.forward(manager.create(withBos).reshape(1, -1));
            int position = withBos.length - io.length + first - 1;
            float expected = logits.getFloat(0, position, io[first]) - logits.getFloat(0, position, s[first]);
            assertThat(batched.perPrompt()[0]).isCloseTo(expected, within(1e-4f));
        }
        double mean = 0;
        for (float d : batched.perPrompt()) {
            mean += d / 6.0;
        }
        assertThat(batched.logitDifference()).isCloseTo(mean, within(1e-5));
    }
}
