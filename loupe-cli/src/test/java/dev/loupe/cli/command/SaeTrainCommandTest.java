package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.sae.Sae;
import dev.loupe.sae.format.SaeArchitecture;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe sae train} on gpt2's test model and the SAELens training fixture's tokens. */
class SaeTrainCommandTest {
    private static final Path TOKENS = Path.of("../testdata/sae/training/tokens.safetensors");

    @TempDir
    Path tmp;

    @Test
    void trainsAnSaeThatSaeLoadReadsBack() throws Exception {
        Path out = tmp.resolve("sae");
        CliTestSupport.Result result = run("sae", "train", "--model", CliTestSupport.GPT2.toString(),
                "--hook", "blocks.0.hook_resid_post", "--tokens", TOKENS.toString(), "--eval-tokens-key", "eval_tokens",
                "--architecture", "topk", "--k", "8", "--d-sae", "64", "--training-tokens", "5120",
                "--train-batch-size-tokens", "256", "--store-batch-size-prompts", "16", "--n-batches-in-buffer", "4",
                "--lr", "1e-3", "--out", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Trained a topk SAE on blocks.0.hook_resid_post: d_in 32 -> d_sae 64, 20 steps")
                .contains("sparsity.l0 = 8").contains("Wrote ");
        try (NDManager manager = NDManager.newBaseManager(); Sae sae = Sae.load(out, manager)) {
            assertThat(sae.cfg().architecture()).isEqualTo(SaeArchitecture.TOPK);
            assertThat(sae.cfg().k()).isEqualTo(8);
            assertThat(sae.cfg().dIn()).isEqualTo(32);
            assertThat(sae.hookName()).isEqualTo("blocks.0.hook_resid_post");
            assertThat(sae.cfg().metadata().get("context_size").asInt()).isEqualTo(32);
        }
        JsonNode curve = new ObjectMapper().readTree(out.resolve("loss_curve.json").toFile());
        assertThat(curve.size()).isEqualTo(20);
        assertThat(curve.get(19).has("auxiliary_reconstruction_loss")).isTrue();
        assertThat(curve.get(19).path("mse_loss").asDouble()).isLessThan(curve.get(0).path("mse_loss").asDouble());
        assertThat(Files.exists(out.resolve("sparsity.safetensors"))).isTrue();
        assertThat(new ObjectMapper().readTree(out.resolve("evals.json").toFile()).path("sparsity").path("l0").asDouble())
                .isEqualTo(8.0);
    }

    @Test
    void trainsOnATextCorpus() throws Exception {
        Path text = tmp.resolve("corpus.txt");
        StringBuilder corpus = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            corpus.append("Sentence ").append(i).append(" tells how the quick brown fox met ").append(i % 7)
                    .append(" lazy dogs. ");
        }
        Files.writeString(text, corpus.toString());
        Path out = tmp.resolve("sae");
        CliTestSupport.Result result = run("sae", "train", "--model", CliTestSupport.GPT2_TOK.toString(),
                "--hook", "blocks.1.hook_resid_pre", "--text", text.toString(), "--context-size", "16",
                "--architecture", "standard", "--d-sae", "64", "--training-tokens", "1280", "--train-batch-size-tokens",
                "128", "--store-batch-size-prompts", "4", "--n-batches-in-buffer", "2", "--out", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        try (NDManager manager = NDManager.newBaseManager(); Sae sae = Sae.load(out, manager)) {
            assertThat(sae.hookName()).isEqualTo("blocks.1.hook_resid_pre");
            assertThat(sae.cfg().metadata().get("context_size").asInt()).isEqualTo(16);
        }
    }

    @Test
    void aSavedActivationStoreTrainsTheSameSaeWithoutTheTokens() throws Exception {
        String[] settings = {"sae", "train", "--model", CliTestSupport.GPT2.toString(), "--hook",
            "blocks.0.hook_resid_post", "--architecture", "standard", "--d-sae", "64", "--training-tokens", "2560",
            "--train-batch-size-tokens", "256", "--store-batch-size-prompts", "16", "--n-batches-in-buffer", "4",
            "--context-size", "32"};
        Path store = tmp.resolve("store");
        CliTestSupport.Result first = run(concat(settings, "--tokens", TOKENS.toString(), "--save-activations",
                store.toString(), "--shard-tokens", "10000", "--out", tmp.resolve("a").toString()));
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(store.resolve("manifest.json")).exists();
        assertThat(store.resolve("shard_00003.safetensors")).exists(); // 32768 activations in shards of 10000
        CliTestSupport.Result second = run(concat(settings, "--activations", store.toString(), "--out",
                tmp.resolve("b").toString()));
        assertThat(second.exitCode()).as(second.err()).isZero();
        assertThat(Files.readAllBytes(tmp.resolve("b/sae_weights.safetensors")))
                .isEqualTo(Files.readAllBytes(tmp.resolve("a/sae_weights.safetensors")));
        String[] otherHook = settings.clone();
        otherHook[5] = "blocks.1.hook_resid_post";
        run(concat(otherHook, "--activations", store.toString(), "--out", tmp.resolve("c").toString()))
                .failedWithOneLine("holds activations of blocks.0.hook_resid_post, not blocks.1.hook_resid_post");
    }

    @Test
    void badOptionsFailWithTheReason() {
        String[] common = {"sae", "train", "--model", CliTestSupport.GPT2.toString(), "--tokens", TOKENS.toString(),
            "--d-sae", "64", "--out", tmp.resolve("x").toString()};
        run(concat(common, "--hook", "blocks.0.hook_resid_post", "--architecture", "gated"))
                .failedWithOneLine("Loupe trains standard, topk and jumprelu SAEs, not gated");
        run(concat(common, "--hook", "blocks.0.hook_resid_post", "--architecture", "topk"))
                .failedWithOneLine("topk needs 1 <= k <= d_sae (64), got k = 100; set --k");
        run(concat(common, "--hook", "blocks.9.hook_resid_post", "--architecture", "standard"))
                .failedWithOneLine("The model has no hook point blocks.9.hook_resid_post");
        run(concat(common, "--hook", "blocks.0.hook_resid_post", "--architecture", "standard", "--tokens-key", "ids"))
                .failedWithOneLine("has no tensor 'ids'");
        CliTestSupport.Result both = run(concat(common, "--hook", "blocks.0.hook_resid_post", "--architecture",
                "standard", "--text", "corpus.txt"));
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("Give the training data as --tokens TOKENS.safetensors, --text FILE... or"
                + " --activations STORE, one of them");
        CliTestSupport.Result resume = run(concat(common, "--hook", "blocks.0.hook_resid_post", "--architecture",
                "standard", "--resume"));
        assertThat(resume.exitCode()).isEqualTo(2);
        assertThat(resume.err()).contains("--resume needs --checkpoint-dir DIR");
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
