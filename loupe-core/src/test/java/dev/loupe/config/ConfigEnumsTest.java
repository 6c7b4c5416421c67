package dev.loupe.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import java.util.Arrays;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The config's enums read and write TransformerLens's exact strings. */
class ConfigEnumsTest {

    @Test
    void jsonNamesAreTransformerLenss() {
        assertThat(names(NormalizationType.values(), NormalizationType::jsonName))
                .containsExactly("LN", "LNPre", "RMS", "RMSPre", "None");
        assertThat(names(PositionalEmbeddingType.values(), PositionalEmbeddingType::jsonName))
                .containsExactly("standard", "rotary", "alibi");
        assertThat(names(ActivationFunctionType.values(), ActivationFunctionType::jsonName))
                .containsExactly("gelu_new", "gelu", "gelu_fast", "gelu_pytorch_tanh", "relu", "silu");
        assertThat(names(AttentionType.values(), AttentionType::jsonName)).containsExactly("global", "local");
        assertThat(names(WeightProcessingStep.values(), WeightProcessingStep::jsonName)).containsExactly("fold_ln",
                "center_writing_weights", "center_unembed", "fold_value_biases", "refactor_factored_attn_matrices");
    }

    @Test
    void fromJsonInvertsJsonName() {
        for (NormalizationType t : NormalizationType.values()) {
            assertThat(NormalizationType.fromJson(t.jsonName())).isSameAs(t);
        }
        for (PositionalEmbeddingType t : PositionalEmbeddingType.values()) {
            assertThat(PositionalEmbeddingType.fromJson(t.jsonName())).isSameAs(t);
        }
        for (ActivationFunctionType t : ActivationFunctionType.values()) {
            assertThat(ActivationFunctionType.fromJson(t.jsonName())).isSameAs(t);
        }
        for (AttentionType t : AttentionType.values()) {
            assertThat(AttentionType.fromJson(t.jsonName())).isSameAs(t);
        }
        for (WeightProcessingStep t : WeightProcessingStep.values()) {
            assertThat(WeightProcessingStep.fromJson(t.jsonName())).isSameAs(t);
        }
    }

    @Test
    void fromJsonRefusesUnknownNamesListingTheValidOnes() {
        assertThatThrownBy(() -> PositionalEmbeddingType.fromJson("shortformer"))
                .isInstanceOf(LoupeException.class)
                .hasMessage("positional_embedding_type 'shortformer' is not supported (use one of standard, rotary, alibi)");
        assertThatThrownBy(() -> NormalizationType.fromJson("ln"))
                .isInstanceOf(LoupeException.class).hasMessageContaining("'ln'").hasMessageContaining("LNPre");
        assertThatThrownBy(() -> ActivationFunctionType.fromJson(null))
                .isInstanceOf(LoupeException.class).hasMessageContaining("act_fn is missing");
    }

    @Test
    void configJsonCarriesTheNamesAndRefusesUnknownOnes() {
        TransformerConfig cfg = TransformerConfig.builder().nLayers(2).dModel(8).nCtx(4).dHead(2).dVocab(5)
                .actFn(ActivationFunctionType.GELU_PYTORCH_TANH).normalizationType(NormalizationType.RMS_PRE)
                .positionalEmbeddingType(PositionalEmbeddingType.ALIBI).useLocalAttn(true).windowSize(2)
                .attnTypes(java.util.List.of(AttentionType.GLOBAL, AttentionType.LOCAL))
                .weightProcessing(java.util.List.of(WeightProcessingStep.FOLD_LN)).build();
        String json = cfg.toJson();
        assertThat(json).contains("\"act_fn\" : \"gelu_pytorch_tanh\"", "\"normalization_type\" : \"RMSPre\"",
                "\"positional_embedding_type\" : \"alibi\"", "\"attn_types\" : [ \"global\", \"local\" ]",
                "\"weight_processing\" : [ \"fold_ln\" ]");
        assertThat(TransformerConfig.fromJson(json)).isEqualTo(cfg);
        assertThatThrownBy(() -> TransformerConfig.fromJson(json.replace("\"alibi\"", "\"sinusoidal\"")))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("positional_embedding_type 'sinusoidal' is not supported");
    }

    private static <E> String[] names(E[] values, Function<E, String> name) {
        return Arrays.stream(values).map(name).toArray(String[]::new);
    }
}
