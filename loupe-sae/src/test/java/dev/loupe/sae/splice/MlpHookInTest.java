package dev.loupe.sae.splice;

import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An SAE whose cfg names SAELens's {@code blocks.0.mlp.hook_in} (the MLP input, a point of HookedSAETransformer)
 * splices at Loupe's {@code blocks.0.ln2.hook_normalized}: the gpt2 resid_pre SAE's files with only the hook name
 * changed (both are [batch, pos, 32]). Its input is the clean ln2 output exactly, its run equals replacing that
 * activation by hand with {@code sae.forward} (to 1e-5: a cached run and a hooked one round differently), it changes
 * the logits, and with the error term they are the clean ones.
 */
class MlpHookInTest {
    private static SaeFixtures fixtures;

    @BeforeAll
    static void open() {
        fixtures = new SaeFixtures();
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    @Test
    void anSaeAtMlpHookInReplacesTheLn2Output(@TempDir Path dir) throws IOException {
        Path source = SaeFixtures.saeDir("gpt2/standard_resid_pre_l0");
        Files.copy(source.resolve("sae_weights.safetensors"), dir.resolve("sae_weights.safetensors"));
        String cfg = Files.readString(source.resolve("cfg.json"), StandardCharsets.UTF_8);
        assertThat(cfg).contains("\"blocks.0.hook_resid_pre\"");
        Files.writeString(dir.resolve("cfg.json"), cfg.replace("\"blocks.0.hook_resid_pre\"", "\"blocks.0.mlp.hook_in\""));

        HookedTransformer model = fixtures.model("gpt2/standard_resid_pre_l0");
        NDArray tokens = fixtures.reference("gpt2/standard_resid_pre_l0").get("input_ids");
        String ln2 = "blocks.0.ln2.hook_normalized";
        try (Sae sae = Sae.load(dir, fixtures.manager());
             ActivationCache clean = model.runWithCache(tokens);
             ActivationCache spliced = SaeRuns.runWithCacheWithSaes(model, tokens, List.of(sae), false)) {
            assertThat(sae.hookName()).isEqualTo("blocks.0.mlp.hook_in");
            assertThat(sae.hookPoint()).isEqualTo(ln2);
            assertThat(spliced.keys()).contains(ln2 + ".hook_sae_acts_post").doesNotContain(ln2);
            assertThat(maxAbsDiff(spliced.get(ln2 + ".hook_sae_input"), clean.get(ln2))).isZero();

            NDArray byHand = model.runWithHooks(tokens, HookSpec.forward(ln2, (x, p) -> sae.forward(x)));
            assertThat(maxAbsDiff(spliced.logits(), byHand)).isLessThanOrEqualTo(1e-5); // measured 3.9e-6
            double moved = maxAbsDiff(spliced.logits(), clean.logits());
            System.out.printf("mlp.hook_in SAE moves the logits by %.3g%n", moved);
            assertThat(moved).isGreaterThan(1e-2);
            NDArray withError = SaeRuns.runWithSaes(model, tokens, List.of(sae), true);
            assertThat(maxAbsDiff(withError, clean.logits())).isLessThanOrEqualTo(1e-5);
        }
    }
}
