package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.GPT2;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code loupe hooks}: every hook point with its shape. */
class HooksCommandTest {
    @Test
    void listsEveryHookWithItsShape() {
        CliTestSupport.Result result = run("hooks", "--model", GPT2.toString(), "--pos", "5");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.err()).isEmpty();
        assertThat(result.out().lines().toList()).hasSize(40)
                .startsWith("hook_embed  [1, 5, 32]", "hook_pos_embed  [1, 5, 32]", "blocks.0.ln1.hook_scale  [1, 5, 1]")
                .contains("blocks.0.attn.hook_pattern  [1, 4, 5, 5]", "blocks.0.hook_resid_pre  [1, 5, 32]",
                        "blocks.1.mlp.hook_post  [1, 5, 128]",
                        "ln_final.hook_scale  [1, 5, 1]")
                .last().isEqualTo("unembed.hook_out  [1, 5, 512]");
        assertThat(result.out()).doesNotContain("hook_result", "hook_q_input", "hook_attn_in", "hook_mlp_in",
                "hook_tokens");
    }

    @Test
    void listsTheNormsAfterTheSubLayersAndTheQkNormsWithTheirShapes() {
        CliTestSupport.Result gemma3 = run("hooks", "--model", "../testdata/models/gemma3_text", "--pos", "5");
        assertThat(gemma3.exitCode()).as(gemma3.err()).isZero();
        assertThat(gemma3.out().lines().toList()).contains("blocks.0.ln1_post.hook_scale  [1, 5, 1]",
                "blocks.1.ln2_post.hook_normalized  [1, 5, 32]", "blocks.0.attn.q_norm.hook_scale  [20, 1]",
                "blocks.0.attn.k_norm.hook_normalized  [10, 8]");
        CliTestSupport.Result olmo2 = run("hooks", "--model", "../testdata/models/olmo2", "--pos", "5");
        assertThat(olmo2.exitCode()).as(olmo2.err()).isZero();
        assertThat(olmo2.out().lines().toList()).contains("blocks.0.ln1_post.hook_scale  [1, 5, 1]",
                "blocks.0.attn.q_norm.hook_normalized  [1, 5, 32]", "blocks.0.attn.k_norm.hook_scale  [1, 5, 1]")
                .noneMatch(line -> line.startsWith("blocks.0.ln1.") || line.startsWith("blocks.0.ln2."));
    }

    @Test
    void listsTheRoutingAndExpertHooksOfAMixtureOfExperts() {
        CliTestSupport.Result result = run("hooks", "--model", "../testdata/models/mixtral", "--pos", "5", "--batch", "2");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out().lines().toList()).contains("blocks.0.mlp.experts.0.hook_gate  [?, 64]",
                "blocks.1.mlp.experts.3.hook_post  [?, 64]", "blocks.0.mlp.hook_expert_weights  [10, 4]",
                "blocks.0.mlp.hook_expert_indices  [10, 2]", "blocks.1.hook_mlp_out  [2, 5, 32]");
    }

    @Test
    void flagsTurnOnTheOptionalHooks() {
        CliTestSupport.Result result = run("hooks", "--model", GPT2.toString(), "--pos", "3", "--batch", "2",
                "--attn-result", "--split-qkv-input", "--attn-in", "--mlp-in", "--hook-tokens");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out().lines().toList()).contains("blocks.0.attn.hook_result  [2, 3, 4, 32]",
                "blocks.1.hook_q_input  [2, 3, 4, 32]", "blocks.1.hook_k_input  [2, 3, 4, 32]",
                "blocks.0.hook_attn_in  [2, 3, 4, 32]", "blocks.0.hook_mlp_in  [2, 3, 32]", "hook_tokens  [2, 3]");

        CliTestSupport.Result resultOnly = run("hooks", "--model", GPT2.toString(), "--attn-result");
        assertThat(resultOnly.out().lines().toList()).hasSize(42).contains("blocks.1.attn.hook_result  [1, 8, 4, 32]");
    }

    @Test
    void anAttentionOnlyModelListsNoMlpHooks() {
        CliTestSupport.Result result = run("hooks", "--model", "../models/induction-2l", "--pos", "5");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out().lines().toList()).contains("blocks.1.hook_attn_out  [1, 5, 64]")
                .noneMatch(line -> line.contains("mlp"));
    }

    @Test
    void aModelThatLooksLikeAPathSaysNoSuchFolderWithoutTryingTheHub() {
        // "src" exists beside the test, so "src/gpt2-tok" is a missing folder, not the Hub repository of org "src".
        for (String path : List.of("src/gpt2-tok", "./gpt2-tok", "../models/gpt2-tok", "~/no-such-model")) {
            run("hooks", "--model", path, "--pos", "2").failedWithOneLine("No such folder");
        }
    }

    @Test
    void hooksRejectsBadInput() {
        run("hooks", "--model", "no/such/dir").failedWithOneLine("no/such/dir");
        run("hooks", "--model", GPT2.toString(), "--pos", "129").failedWithOneLine("n_ctx");
        assertThat(run("hooks", "--model", GPT2.toString(), "--pos", "0").exitCode()).isEqualTo(2);
        assertThat(run("hooks", "--model", GPT2.toString(), "--pos", "five").exitCode()).isEqualTo(2);
    }
}
