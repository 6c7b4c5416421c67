package dev.loupe.hook;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** TransformerLens's get_act_name table, call for call, and the block paths of parameters. */
class ActNameTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "pattern      | 3  | -         | blocks.3.attn.hook_pattern",
        "attn         | 3  | -         | blocks.3.attn.hook_pattern",
        "attn_scores  | 3  | -         | blocks.3.attn.hook_attn_scores",
        "attn_logits  | 3  | -         | blocks.3.attn.hook_attn_scores",
        "z            | 2  | -         | blocks.2.attn.hook_z",
        "q            | 2  | -         | blocks.2.attn.hook_q",
        "key          | 2  | -         | blocks.2.attn.hook_k",
        "value        | 2  | -         | blocks.2.attn.hook_v",
        "result       | 2  | -         | blocks.2.attn.hook_result",
        "rot_q        | 2  | -         | blocks.2.attn.hook_rot_q",
        "resid_pre    | 5  | -         | blocks.5.hook_resid_pre",
        "resid_mid    | 5  | -         | blocks.5.hook_resid_mid",
        "resid_post   | 5  | -         | blocks.5.hook_resid_post",
        "mlp_out      | 1  | -         | blocks.1.hook_mlp_out",
        "attn_out     | 1  | -         | blocks.1.hook_attn_out",
        "attn_in      | 3  | -         | blocks.3.hook_attn_in",
        "q_input      | 3  | -         | blocks.3.hook_q_input",
        "mlp_in       | 3  | -         | blocks.3.hook_mlp_in",
        "pre          | 2  | -         | blocks.2.mlp.hook_pre",
        "mlp_post     | 2  | -         | blocks.2.mlp.hook_post",
        "pre_linear   | 2  | -         | blocks.2.mlp.hook_pre_linear",
        "scale        | 4  | ln1       | blocks.4.ln1.hook_scale",
        "normalized   | 27 | ln2       | blocks.27.ln2.hook_normalized",
        "k            | 6  | a         | blocks.6.attn.hook_k",
        "resid_pre    | 5  | b         | blocks.5.hook_resid_pre",
        "q            | -1 | -         | blocks.-1.attn.hook_q",
    })
    void withLayer(String name, int layer, String layerType, String expected) {
        String actual = layerType == null ? ActName.of(name, layer) : ActName.of(name, layer, layerType);
        assertThat(actual).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "embed                      | hook_embed",
        "pos_embed                  | hook_pos_embed",
        "tokens                     | hook_tokens",
        "scale                      | ln_final.hook_scale",
        "normalized                 | ln_final.hook_normalized",
        "k6                         | blocks.6.attn.hook_k",
        "scale4ln1                  | blocks.4.ln1.hook_scale",
        "pre5                       | blocks.5.mlp.hook_pre",
        "blocks.0.attn.hook_pattern | blocks.0.attn.hook_pattern",
        "ln1.hook_scale             | ln1.hook_scale",
        "hook_embed                 | hook_embed",
    })
    void withoutLayer(String name, String expected) {
        assertThat(ActName.of(name)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "3  | -        | blocks.3",
        "0  | attn.W_Q | blocks.0.attn.W_Q",
        "11 | mlp.b_out | blocks.11.mlp.b_out",
        "2  | ln1      | blocks.2.ln1",
        "1  | attn._W_K | blocks.1.attn._W_K",
    })
    void blockPaths(int layer, String path, String expected) {
        assertThat(path == null ? ActName.block(layer) : ActName.block(layer, path)).isEqualTo(expected);
    }
}
