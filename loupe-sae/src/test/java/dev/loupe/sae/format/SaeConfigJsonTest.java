package dev.loupe.sae.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.CheckpointException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** cfg.json as SAELens 6.18 reads it: 6.x configs, pre-6.0 ones through handle_pre_6_0_config, and bad fields. */
class SaeConfigJsonTest {
    private static SaeConfig read(String json) throws Exception {
        return SaeConfigJson.read(new ObjectMapper().readTree(json), "cfg.json");
    }

    private static List<String> keys(JsonNode node) {
        List<String> keys = new ArrayList<>();
        node.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    @Test
    void aPre6ConfigIsBroughtToThe6Layout() throws Exception {
        SaeConfig cfg = read("""
                {"d_in": 64, "d_sae": 256, "hook_point": "blocks.2.attn.hook_z", "hook_point_head_index": null,
                 "activation_fn_str": "topk", "activation_fn_kwargs": {"k": 16}, "normalize_activations": true,
                 "model_name": "gpt2", "context_size": 128, "dtype": "float32", "lr": 0.001,
                 "sae_lens_version": "3.12.0"}""");
        assertThat(cfg.architecture()).isEqualTo(SaeArchitecture.TOPK);
        assertThat(cfg.k()).isEqualTo(16);
        assertThat(cfg.rescaleActsByDecoderNorm()).isFalse();
        assertThat(cfg.hookName()).isEqualTo("blocks.2.attn.hook_z");
        assertThat(cfg.reshapeHookZ()).isTrue();
        assertThat(cfg.applyBDecToInput()).isTrue();
        assertThat(cfg.normalizeActivations()).isEqualTo(ActivationNormalization.EXPECTED_AVERAGE_ONLY_IN);
        // The renamed keys keep their places; the versions go first, as SAELens's SAEMetadata puts them.
        assertThat(keys(cfg.metadata())).containsExactly("sae_lens_version", "sae_lens_training_version", "hook_name",
                "hook_head_index", "model_name", "context_size", "prepend_bos", "neuronpedia_id");
        assertThat(cfg.metadata().get("sae_lens_version").asText()).isEqualTo("3.12.0");
        assertThat(cfg.metadata().get("sae_lens_training_version").isNull()).isTrue();
        assertThat(cfg.metadata().has("lr")).isFalse();

        SaeConfig plain = read("""
                {"d_in": 8, "d_sae": 16, "hook_name": "blocks.0.hook_resid_pre", "normalize_activations": null}""");
        assertThat(plain.architecture()).isEqualTo(SaeArchitecture.STANDARD);
        assertThat(plain.normalizeActivations()).isEqualTo(ActivationNormalization.NONE);
        assertThat(plain.reshapeHookZ()).isFalse();
        assertThat(plain.metadata().get("sae_lens_version").asText()).isEqualTo(SaeConfig.SAE_LENS_VERSION);
        assertThat(read("{\"d_in\": 8, \"d_sae\": 16, \"normalize_activations\": false}").normalizeActivations())
                .isEqualTo(ActivationNormalization.NONE);
        assertThat(read("{\"d_in\": 8, \"d_sae\": 16, \"architecture\": \"topk\", \"k\": 3,"
                + " \"activation_fn_kwargs\": {\"k\": 5}}").k()).as("k from activation_fn_kwargs").isEqualTo(5);
    }

    @Test
    void a6ConfigTakesSaeLensDefaultsAndIgnoresUnknownKeys() throws Exception {
        SaeConfig cfg = read("""
                {"d_in": 8, "d_sae": 160, "architecture": "topk", "whatever": 1,
                 "metadata": {"sae_lens_version": "6.1.0", "hook_name": "blocks.0.hook_mlp_out"}}""");
        assertThat(cfg.k()).isEqualTo(100);
        assertThat(cfg.dtype()).isEqualTo("float32");
        assertThat(cfg.applyBDecToInput()).isTrue();
        assertThat(SaeConfigJson.toJson(cfg).has("whatever")).isFalse();
        assertThat(keys(SaeConfigJson.toJson(cfg))).containsExactly("d_in", "d_sae", "dtype", "device",
                "apply_b_dec_to_input", "normalize_activations", "reshape_activations", "metadata", "k",
                "rescale_acts_by_decoder_norm", "architecture");
    }

    @Test
    void badFieldsAreNamed() {
        assertThatThrownBy(() -> read("{\"d_sae\": 16, \"metadata\": {\"sae_lens_version\": \"6.0.0\"}}"))
                .isInstanceOf(CheckpointException.class).hasMessage("cfg.json: d_in is missing");
        assertThatThrownBy(() -> read("{\"d_in\": -3, \"d_sae\": 16}")).hasMessageContaining("d_in must be a positive integer");
        assertThatThrownBy(() -> read("{\"d_in\": 8, \"d_sae\": 16, \"architecture\": \"matryoshka\"}"))
                .hasMessageContaining("architecture \"matryoshka\" is not supported");
        assertThatThrownBy(() -> read("{\"d_in\": 8, \"d_sae\": 16, \"normalize_activations\": \"zscore\","
                + " \"metadata\": {\"sae_lens_version\": \"6.0.0\"}}")).hasMessageContaining("normalize_activations \"zscore\"");
        assertThatThrownBy(() -> read("{\"d_in\": 8, \"d_sae\": 16, \"architecture\": \"topk\", \"k\": 17,"
                + " \"metadata\": {\"sae_lens_version\": \"6.0.0\"}}"))
                .hasMessageContaining("cfg.json").hasMessageContaining("k = 17");
        assertThatThrownBy(() -> read("{\"d_in\": 8, \"d_sae\": 16, \"architecture\": \"transcoder\", \"d_out\": 8,"
                + " \"metadata\": {\"sae_lens_version\": \"6.0.0\"}}")).hasMessageContaining("apply_b_dec_to_input");
        assertThatThrownBy(() -> read("[1, 2]")).hasMessageContaining("expected a JSON object");
        assertThatThrownBy(() -> read("{\"d_in\": 8, \"d_sae\": 16, \"metadata\": {\"sae_lens_version\": \"x\"}}"))
                .hasMessageContaining("is not a version number");
    }
}
