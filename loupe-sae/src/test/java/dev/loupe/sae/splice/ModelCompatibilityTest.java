package dev.loupe.sae.splice;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.format.SaeConfig;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.testing.Fixtures;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** An SAE is refused, with the reason, on a model in another basis or of another width. */
class ModelCompatibilityTest {
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
    void anSaeAskingForFoldedNormsIsRefusedOnAnUnprocessedModel() {
        String name = "gpt2/standard_resid_pre_l0";
        HookedTransformer model = fixtures.model(name);
        NDArray tokens = fixtures.reference(name).get("input_ids");
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            ObjectNode metadata = sae.cfg().metadata();
            metadata.putObject("model_from_pretrained_kwargs").put("fold_ln", true).put("center_writing_weights", false);
            SaeConfig folded = sae.cfg().withMetadata(metadata);
            try (Sae wantsFolded = Sae.of(folded, sae.tensors(), fixtures.manager())) {
                assertThatThrownBy(() -> SaeRuns.runWithSaes(model, tokens, List.of(wantsFolded), false))
                        .isInstanceOf(LoupeException.class).hasMessageContaining("fold_ln")
                        .hasMessageContaining("but this model has []");
            }
        }
    }

    @Test
    void anSaeTrainedUnprocessedIsRefusedOnAProcessedModel() {
        String name = "gpt2/standard_resid_pre_l0";
        NDArray tokens = fixtures.reference(name).get("input_ids");
        try (HookedTransformer processed = HookedTransformer.fromPretrained(Fixtures.model("gpt2"));
             Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            assertThatThrownBy(() -> SaeRuns.withSaes(processed, List.of(sae), true))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("fromPretrainedNoProcessing")
                    .hasMessageContaining("fold_ln");
        }
    }

    @Test
    void anSaeOfAnotherWidthIsRefused() {
        try (Sae sae = Sae.load(SaeFixtures.saeDir("gpt2/standard_resid_pre_l0"), fixtures.manager())) {
            ObjectNode metadata = sae.cfg().metadata();
            metadata.put("hook_name", "blocks.0.mlp.hook_post"); // d_mlp wide, not d_model
            try (Sae elsewhere = Sae.of(sae.cfg().withMetadata(metadata), sae.tensors(), fixtures.manager())) {
                assertThatThrownBy(() -> SaeRuns.splices(fixtures.model("gpt2/x"), List.of(elsewhere), false))
                        .isInstanceOf(LoupeException.class).hasMessageContaining("d_in is 32")
                        .hasMessageContaining("blocks.0.mlp.hook_post has width 128");
            }
        }
    }
}
