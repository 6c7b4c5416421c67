package dev.loupe.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.LoupeException;
import dev.loupe.load.ModelLoader;
import dev.loupe.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TransformerConfigTest {

    @Test
    void readsTransformerLensConfigJsonAndAgreesWithTheGpt2Adapter() {
        JsonNode hooks = Fixtures.json(Fixtures.tl("gpt2").resolve("hooks.json"));
        TransformerConfig fromTl = TransformerConfig.fromJson(hooks.get("cfg_unprocessed").toString());
        TransformerConfig fromHf = ModelLoader.config(Fixtures.model("gpt2"));
        assertThat(fromTl.nLayers()).isEqualTo(2);
        assertThat(fromTl.dHead()).isEqualTo(8);
        assertThat(fromTl.actFn()).isEqualTo(ActivationFunctionType.GELU_NEW);
        assertThat(fromTl.attnScale()).isEqualTo(Math.sqrt(8));
        assertThat(fromHf.toBuilder().modelName("gpt2").tokenizerName("gpt2").build())
                .isEqualTo(fromTl.toBuilder().originalArchitecture("GPT2LMHeadModel").build());
    }

    /**
     * TransformerLens's configs of the second wave (gemma2, gemma3_text: its hard-coded branches filled from
     * config.json; qwen3: its Qwen3 branch) read as Loupe's adapters make them from config.json, new
     * fields included (soft-caps, rotary_base_local, use_qk_norm, use_normalization_before_and_after,
     * attn_types, window_size).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3_text", "qwen3"})
    void readsTheSecondWavesTransformerLensConfigsAsTheAdaptersMakeThem(String arch) {
        JsonNode hooks = Fixtures.json(Fixtures.tl(arch).resolve("hooks.json"));
        TransformerConfig fromTl = TransformerConfig.fromJson(hooks.get("cfg_unprocessed").toString());
        TransformerConfig fromHf = ModelLoader.config(Fixtures.model(arch));
        // Names, and TransformerLens's Qwen3 context of 2048 where config.json says 128, are not the architecture.
        assertThat(fromHf.toBuilder().modelName(fromTl.modelName()).tokenizerName(fromTl.tokenizerName())
                .nCtx(fromTl.nCtx()).build()).isEqualTo(fromTl);
        TransformerConfig processed = TransformerConfig.fromJson(hooks.get("cfg_processed").toString());
        assertThat(processed.normalizationType()).isEqualTo(NormalizationType.RMS_PRE);
        assertThat(processed.postNormalizationType()).isEqualTo(NormalizationType.RMS);
    }

    @Test
    void theSecondWavesFieldsDefaultToOffAndAreChecked() {
        TransformerConfig cfg = TransformerConfig.fromJson(ModelLoader.config(Fixtures.model("gpt2")).toJson()
                .replaceAll("\\s*\"(attn_scores_soft_cap|output_logits_soft_cap|rotary_base_local|use_qk_norm)\" : [^,]*,", ""));
        assertThat(cfg.softCapsAttnScores()).isFalse();
        assertThat(cfg.softCapsOutputLogits()).isFalse();
        assertThat(cfg.attnScoresSoftCap()).isEqualTo(-1);
        assertThat(cfg.rotaryBaseLocal()).isNull();
        assertThat(cfg.hasPreNorms()).isTrue();
        assertThat(cfg.hasPostNorms()).isFalse();
        assertThatThrownBy(() -> cfg.toBuilder().useNormalizationBeforeAndAfter(true).useNormalizationAfterOnly(true)
                .qkNormAcrossHeads(true).rotaryBaseLocal(-1.0).build())
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("exclude each other")
                .hasMessageContaining("qk_norm_across_heads needs use_qk_norm")
                .hasMessageContaining("rotary_base_local must be > 0");
    }

    @Test
    void readsTransformerLensMixtureOfExpertsConfigsAndAgreesWithTheMixtralAdapter() {
        JsonNode hooks = Fixtures.json(Fixtures.tl("mixtral").resolve("hooks.json"));
        TransformerConfig fromTl = TransformerConfig.fromJson(hooks.get("cfg_unprocessed").toString());
        TransformerConfig fromHf = ModelLoader.config(Fixtures.model("mixtral"));
        for (TransformerConfig cfg : new TransformerConfig[] {fromTl, fromHf}) {
            assertThat(cfg.mixtureOfExperts()).isTrue();
            assertThat(cfg.numExperts()).isEqualTo(4);
            assertThat(cfg.expertsPerToken()).isEqualTo(2);
            assertThat(cfg.dMlp()).isEqualTo(64);
            assertThat(cfg.windowSize()).isEqualTo(6);
            assertThat(cfg.attnTypes()).containsOnly(AttentionType.LOCAL);
        }
        String json = fromHf.toJson();
        assertThat(json).contains("\"num_experts\" : 4", "\"experts_per_token\" : 2");
        assertThat(TransformerConfig.fromJson(json)).isEqualTo(fromHf);
        assertThat(ModelLoader.config(Fixtures.model("llama")).mixtureOfExperts()).isFalse();
        assertThatThrownBy(() -> fromHf.toBuilder().expertsPerToken(5).build())
                .isInstanceOf(LoupeException.class).hasMessageContaining("experts_per_token between 1 and 4");
        assertThatThrownBy(() -> fromHf.toBuilder().gatedMlp(false).build())
                .isInstanceOf(LoupeException.class).hasMessageContaining("num_experts needs gated_mlp");
    }

    @Test
    void writesSnakeCaseKeysAndReadsThemBack() {
        TransformerConfig cfg = ModelLoader.config(Fixtures.model("gpt2"));
        String json = cfg.toJson();
        assertThat(json).contains("\"n_layers\"", "\"d_model\"", "\"act_fn\"", "\"use_attn_result\"",
                "\"d_vocab_out\"", "\"normalization_type\"");
        assertThat(TransformerConfig.fromJson(json)).isEqualTo(cfg);
    }

    @Test
    void derivesTransformerLensDefaults() {
        TransformerConfig cfg = TransformerConfig.builder().nLayers(1).dModel(64).nCtx(16).dHead(16).dVocab(10)
                .actFn(ActivationFunctionType.RELU).build();
        assertThat(cfg.nHeads()).isEqualTo(4);
        assertThat(cfg.dMlp()).isEqualTo(256);
        assertThat(cfg.dVocabOut()).isEqualTo(10);
        assertThat(cfg.attnScale()).isEqualTo(4.0);
    }

    @Test
    void rejectsAnInvalidConfigListingEveryProblem() {
        assertThatThrownBy(() -> TransformerConfig.builder().nLayers(0).dModel(8).nCtx(4).dHead(2).dVocab(5)
                .actFn("swiglu").normalizationType("BN").build())
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("n_layers must be > 0")
                .hasMessageContaining("act_fn 'swiglu' is not supported")
                .hasMessageContaining("normalization_type 'BN'");
    }
}
