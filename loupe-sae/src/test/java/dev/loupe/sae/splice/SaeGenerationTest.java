package dev.loupe.sae.splice;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.model.HookScope;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An SAE scope applies to every run inside it, generation's cached steps included. */
class SaeGenerationTest {
    @Test
    void generationInsideAnSaeScopeSeesTheSae() {
        String name = "gpt2/standard_resid_pre_l0";
        try (SaeFixtures fixtures = new SaeFixtures();
             Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            HookedTransformer model = fixtures.model(name);
            NDArray prompt = fixtures.reference(name).get("input_ids").get(new NDIndex("0:1, 0:8"));
            GenerateOptions greedy = GenerateOptions.greedy(6).withStopAtEos(false);
            long[] clean = Generator.generate(model, prompt, null, greedy, null).toLongArray();
            long[] withError;
            try (HookScope scope = SaeRuns.withSaes(model, List.of(sae), true)) {
                withError = Generator.generate(model, prompt, null, greedy, null).toLongArray();
            }
            assertThat(withError).as("with the error term the SAE changes nothing").isEqualTo(clean);
            try (HookScope scope = SaeRuns.withSaes(model, List.of(sae), false)) {
                long[] cached = Generator.generate(model, prompt, null, greedy, null).toLongArray();
                long[] uncached = Generator.generate(model, prompt, null, greedy.withUsePastKvCache(false), null)
                        .toLongArray();
                assertThat(cached).as("key/value cache vs full recomputation, both spliced").isEqualTo(uncached);
                // The first new token is the argmax of the spliced logits at the prompt's last position.
                NDArray logits = model.forward(prompt);
                assertThat(cached[8]).isEqualTo(logits.get(new NDIndex("0, -1")).argMax().getLong());
            }
        }
    }
}
