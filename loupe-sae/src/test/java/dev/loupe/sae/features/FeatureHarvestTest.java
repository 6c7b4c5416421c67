package dev.loupe.sae.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.stop.StopSignal;
import dev.loupe.stop.StoppedException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A harvest on the gpt2 fixture model against references: the densities of the fixture's input_ids equal SAELens's
 * {@code run_evals} {@code feature_density} (measured: exactly), and on a random corpus of 13 sequences run in batches
 * of 5, every count, maximum and top context equals a brute force that encodes the clean activation of all 13 at
 * once with {@code Sae.encode} (activations to 1e-5; measured: equal, 0 difference).
 */
class FeatureHarvestTest {
    private static final double TOLERANCE = 1e-5;
    private static SaeFixtures fixtures;

    @BeforeAll
    static void open() {
        fixtures = new SaeFixtures();
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2/standard_resid_pre_l0", "gpt2/jumprelu_z_l0", "gpt2/topk_resid_post_l1"})
    void densitiesEqualSaeLensFeatureDensity(String name) {
        HookedTransformer model = fixtures.model(name);
        long[][] ids = rows(fixtures.reference(name).get("input_ids"));
        float[] reference = fixtures.reference(name).get("evals_feature.feature_density").toFloatArray();
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            FeatureHarvest harvest = FeatureHarvest.run(model, sae, ids, null, FeatureOptions.defaults().withBatchSize(1));
            assertThat(harvest.features()).hasSize(reference.length);
            double worst = 0;
            for (int f = 0; f < reference.length; f++) {
                worst = Math.max(worst, Math.abs(harvest.feature(f).density() - reference[f]));
            }
            System.out.printf("%s: largest density difference to SAELens %.3g%n", name, worst);
            assertThat(worst).as(name).isLessThanOrEqualTo(1e-7);
            List<FeatureActivity> byDensity = harvest.byDensity();
            for (int i = 1; i < byDensity.size(); i++) {
                FeatureActivity previous = byDensity.get(i - 1);
                FeatureActivity next = byDensity.get(i);
                assertThat(previous.activeTokens() > next.activeTokens()
                        || previous.activeTokens() == next.activeTokens() && previous.feature() < next.feature()).isTrue();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2/standard_resid_pre_l0", "gpt2/jumprelu_z_l0", "gpt2/transcoder_l0"})
    void contextsCountsAndHistogramsEqualABruteForce(String name) {
        HookedTransformer model = fixtures.model(name);
        long[][] corpus = new long[13][16];
        Random random = new Random(11);
        for (long[] row : corpus) {
            for (int t = 0; t < row.length; t++) {
                row[t] = random.nextInt(model.config().dVocab());
            }
        }
        FeatureOptions options = new FeatureOptions(5, 3, 2, 16, 5);
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager());
             NDManager manager = NDManager.newBaseManager()) {
            FeatureHarvest harvest = FeatureHarvest.run(model, sae, corpus, null, options);
            float[] acts;
            try (ActivationCache cache = model.runWithCache(manager.create(corpus),
                    CacheOptions.filtered(sae.hookName()::equals))) {
                acts = sae.encode(cache.get(sae.hookName())).toType(DataType.FLOAT32, false).toFloatArray();
            }
            int dSae = sae.cfg().dSae();
            double worst = 0;
            int withContexts = 0;
            for (int f = 0; f < dSae; f++) {
                FeatureActivity actual = harvest.feature(f);
                long active = 0;
                float max = 0;
                List<float[]> perSequence = new ArrayList<>(); // {max, sequence, position}
                for (int s = 0; s < corpus.length; s++) {
                    int best = -1;
                    for (int t = 0; t < 16; t++) {
                        float v = acts[(s * 16 + t) * dSae + f];
                        if (v > 0) {
                            active++;
                            max = Math.max(max, v);
                            if (best < 0 || v > acts[(s * 16 + best) * dSae + f]) {
                                best = t;
                            }
                        }
                    }
                    if (best >= 0) {
                        perSequence.add(new float[] {acts[(s * 16 + best) * dSae + f], s, best});
                    }
                }
                perSequence.sort(Comparator.<float[]>comparingDouble(e -> -e[0]).thenComparingDouble(e -> e[1]));
                assertThat(actual.activeTokens()).as(name + " feature " + f).isEqualTo(active);
                assertThat(actual.tokens()).isEqualTo(13 * 16);
                worst = Math.max(worst, Math.abs(actual.maxActivation() - max));
                assertThat(actual.histogram().total()).isEqualTo(active);
                assertThat(actual.contexts()).hasSize(Math.min(5, perSequence.size()));
                withContexts += actual.contexts().isEmpty() ? 0 : 1;
                for (int i = 0; i < actual.contexts().size(); i++) {
                    FeatureContext context = actual.contexts().get(i);
                    float[] expected = perSequence.get(i);
                    assertThat(context.sequence()).as(name + " feature " + f + " context " + i).isEqualTo((int) expected[1]);
                    assertThat(context.position()).isEqualTo((int) expected[2]);
                    int start = Math.max(0, context.position() - 3);
                    assertThat(context.start()).isEqualTo(start);
                    int end = Math.min(16, context.position() + 3);
                    assertThat(context.tokens()).containsExactly(Arrays.copyOfRange(corpus[context.sequence()], start, end));
                    for (int t = start; t < end; t++) {
                        worst = Math.max(worst, Math.abs(context.activations()[t - start]
                                - acts[(context.sequence() * 16 + t) * dSae + f]));
                    }
                }
            }
            System.out.printf("%s: %d features with contexts; largest activation difference %.3g%n", name, withContexts,
                    worst);
            assertThat(withContexts).isGreaterThan(10);
            assertThat(worst).isLessThanOrEqualTo(TOLERANCE);
        }
    }

    @Test
    void aCorpusTheModelCannotReadIsRefused() {
        String name = "gpt2/standard_resid_pre_l0";
        HookedTransformer model = fixtures.model(name);
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            FeatureOptions options = FeatureOptions.defaults();
            assertThatThrownBy(() -> FeatureHarvest.run(model, sae, new long[][] {{1, 2}, {3}}, null, options))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("sequence 1 has 1");
            assertThatThrownBy(() -> FeatureHarvest.run(model, sae, new long[][] {{1, 512}}, null, options))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("token id 512, outside the model's"
                            + " vocabulary [0, 512)");
            assertThatThrownBy(() -> FeatureHarvest.run(model, sae, new long[0][], null, options))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("The corpus is empty");
        }
    }

    @Test
    void aRequestedStopEndsTheHarvestAtTheNextBatch() {
        String name = "gpt2/standard_resid_pre_l0";
        StopSignal stop = new StopSignal();
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager());
             StopSignal.Binding bound = stop.bind()) {
            stop.request("SIGTERM");
            assertThatThrownBy(() -> FeatureHarvest.run(fixtures.model(name), sae, new long[3][4], null,
                    FeatureOptions.defaults().withBatchSize(2))).isInstanceOf(StoppedException.class)
                    .hasMessageContaining("after 0 of 3 sequences");
        }
    }

    static long[][] rows(NDArray ids) {
        long[] flat = ids.toLongArray();
        int pos = (int) ids.getShape().get(1);
        long[][] rows = new long[(int) ids.getShape().get(0)][];
        for (int s = 0; s < rows.length; s++) {
            rows[s] = Arrays.copyOfRange(flat, s * pos, (s + 1) * pos);
        }
        return rows;
    }
}
