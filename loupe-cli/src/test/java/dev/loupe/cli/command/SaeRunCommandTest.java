package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.assertClose;
import static dev.loupe.cli.CliTestSupport.floats;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code loupe sae run} on the SAELens fixtures of testdata/sae (gpt2, llama and gemma2 entries, each on its own
 * model): its OUT against SAELens's references, within testdata/sae's tolerance 1e-4 · max(1, max|ref|).
 */
class SaeRunCommandTest {
    private static final Path GPT2 = Path.of("../testdata/models/gpt2");
    private static final Path SAE = Path.of("../testdata/sae");
    private static final Path MODELS = Path.of("../testdata/models");

    @TempDir
    Path tmp;

    /** IN with the reference's input_ids, written as a user would. */
    private Path input(String entry) {
        return input(tmp, entry);
    }

    /** IN with the reference's input_ids of {@code entry}, written into {@code dir}. */
    static Path input(Path dir, String entry) {
        Path file = dir.resolve("in.safetensors");
        try (SafetensorsFile ref = SafetensorsFile.open(SAE.resolve(entry).resolve("reference.safetensors"));
             NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(file, Map.of("input_ids", ref.load("input_ids", manager)));
        }
        return file;
    }

    /** Runs the command on the model of the first SAE's fixture tree ({@code gpt2/…} → testdata/models/gpt2). */
    private CliTestSupport.Result sae(Path in, Path out, List<String> saes, String... extra) {
        Path model = MODELS.resolve(saes.get(0).substring(0, saes.get(0).indexOf('/')));
        List<String> args = new ArrayList<>(List.of("sae", "run", "--model", model.toString(), "--input", in.toString(),
                "--out", out.toString()));
        saes.forEach(s -> args.addAll(List.of("--sae", SAE.resolve(s).toString())));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    /** OUT's {@code key} against the reference's {@code refKey} within the tolerance; prints the largest difference. */
    static void check(String entry, Path out, String key, String refKey) {
        float[] expected = floats(SAE.resolve(entry).resolve("reference.safetensors"), refKey);
        float max = 0;
        for (float v : expected) {
            max = Math.max(max, Math.abs(v));
        }
        double atol = 1e-4 * Math.max(1, max);
        float[] actual = floats(out, key);
        assertClose(entry + " " + key, actual, expected, atol);
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            worst = Math.max(worst, Math.abs((double) actual[i] - expected[i]));
        }
        System.out.printf("sae run %s %s: max |diff| %.3g (atol %.3g)%n", entry, key, worst, atol);
    }

    private static List<String> names(Path file) {
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            return in.names();
        }
    }

    private void checkSplice(String entry, List<String> saes, List<String> hooks) {
        Path in = input(entry);
        Path out = tmp.resolve("out.safetensors");
        CliTestSupport.Result result = sae(in, out, saes);
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Wrote logits");
        check(entry, out, "logits", "splice.logits");
        for (String hook : hooks) {
            for (String point : List.of("hook_sae_acts_post", "hook_sae_recons")) {
                check(entry, out, hook + "." + point, "splice." + hook + "." + point);
            }
        }
        assertThat(names(out)).hasSize(1 + 2 * hooks.size());
        Path errOut = tmp.resolve("err.safetensors");
        result = sae(in, errOut, saes, "--use-error-term");
        assertThat(result.exitCode()).as(result.err()).isZero();
        for (String hook : hooks) {
            check(entry, errOut, hook + ".hook_sae_error", "splice_err." + hook + ".hook_sae_error");
        }
    }

    @Test
    void standardSaeAtResidPreMatchesSaeLens() {
        checkSplice("gpt2/standard_resid_pre_l0", List.of("gpt2/standard_resid_pre_l0"),
                List.of("blocks.0.hook_resid_pre"));
    }

    @Test
    void jumpReluSaeAtHookZMatchesSaeLens() {
        checkSplice("gpt2/jumprelu_z_l0", List.of("gpt2/jumprelu_z_l0"), List.of("blocks.0.attn.hook_z"));
    }

    @Test
    void threeSaesAtOnceMatchSaeLens() {
        checkSplice("gpt2/multi", List.of("gpt2/standard_resid_pre_l0", "gpt2/jumprelu_z_l0", "gpt2/topk_resid_post_l1"),
                List.of("blocks.0.hook_resid_pre", "blocks.0.attn.hook_z", "blocks.1.hook_resid_post"));
    }

    /**
     * The other gpt2 entries (gated, topk, constant_norm_rescale), each llama entry (GQA, RMSNorm) and Gemma Scope's
     * converted gemma2 SAE, with and without the error term.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2/gated_mlp_out_l1", "gpt2/standard_resid_post_l0_normrescale",
        "gpt2/topk_mlp_out_l0_fewpos", "gpt2/topk_resid_post_l1", "llama/standard_resid_post_l0", "llama/topk_z_l1",
        "llama/jumprelu_mlp_out_l1", "llama/standard_resid_pre_l1_layernorm", "llama/gated_resid_pre_l1",
        "gemma2/gemmascope_res_l0"})
    void eachOtherSaeMatchesSaeLens(String entry) {
        String folder = entry.startsWith("gemma2/") ? entry + "/converted" : entry;
        String hook = Fixtures.json(SAE.resolve(folder).resolve("cfg.json")).path("metadata").path("hook_name").asText();
        checkSplice(entry, List.of(folder), List.of(hook));
    }

    @Test
    void threeLlamaSaesAtOnceMatchSaeLens() {
        checkSplice("llama/multi", List.of("llama/standard_resid_post_l0", "llama/topk_z_l1", "llama/jumprelu_mlp_out_l1"),
                List.of("blocks.0.hook_resid_post", "blocks.1.attn.hook_z", "blocks.1.hook_mlp_out"));
    }

    @Test
    void transcoderReplacesTheMlpOutput() {
        String entry = "gpt2/transcoder_l0";
        Path out = tmp.resolve("out.safetensors");
        CliTestSupport.Result result = sae(input(entry), out, List.of(entry));
        assertThat(result.exitCode()).as(result.err()).isZero();
        check(entry, out, "logits", "transcoder_splice.logits");
        // Features under the hook the transcoder reads, its output under the activation it replaces.
        check(entry, out, "blocks.0.ln2.hook_normalized.hook_sae_acts_post", "feature_acts");
        check(entry, out, "blocks.0.hook_mlp_out", "sae_out");
    }

    @Test
    void anSaeAtMlpHookInIsWrittenUnderItsCfgHook() throws Exception {
        // The gpt2 resid_pre SAE's files with only the hook changed: it splices at ln2's output, SAELens's MLP input.
        Path source = SAE.resolve("gpt2/standard_resid_pre_l0");
        Path dir = Files.createDirectories(tmp.resolve("mlp_hook_in"));
        Files.copy(source.resolve("sae_weights.safetensors"), dir.resolve("sae_weights.safetensors"));
        Files.writeString(dir.resolve("cfg.json"), Files.readString(source.resolve("cfg.json"))
                .replace("\"blocks.0.hook_resid_pre\"", "\"blocks.0.mlp.hook_in\""));
        Path out = tmp.resolve("out.safetensors");
        CliTestSupport.Result result = run("sae", "run", "--model", GPT2.toString(), "--sae", dir.toString(), "--input",
                input("gpt2/standard_resid_pre_l0").toString(), "--out", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(names(out)).containsExactlyInAnyOrder("logits", "blocks.0.mlp.hook_in.hook_sae_acts_post",
                "blocks.0.mlp.hook_in.hook_sae_recons");
    }

    @Test
    void anSaeFolderWithoutCfgJsonIsOneLine() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("not-an-sae"));
        Path in = input("gpt2/standard_resid_pre_l0");
        List<String> args = List.of("sae", "run", "--model", GPT2.toString(), "--sae", empty.toString(), "--input",
                in.toString(), "--out", tmp.resolve("out.safetensors").toString());
        run(args.toArray(String[]::new)).failedWithOneLine("cfg.json");
        assertThat(tmp.resolve("out.safetensors")).doesNotExist();
    }

    @Test
    void anOutThatIsTheInputIsRefused() {
        Path in = input("gpt2/standard_resid_pre_l0");
        long size = in.toFile().length();
        CliTestSupport.Result result = sae(in, in, List.of("gpt2/standard_resid_pre_l0"));
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.err()).contains("--input");
        assertThat(in.toFile().length()).isEqualTo(size);
    }
}
