package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.lens.data.EnglishText;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe sae features} on the gpt2 fixture model and SAELens's {@code standard_resid_pre_l0} fixture SAE: on the
 * fixture's input_ids, the pages go to the densest features by SAELens's own {@code feature_density}
 * ({@code evals_feature.feature_density} of reference.safetensors) and state those densities; a list picks its
 * features; text is tokenised with gpt2-tok's tokenizer and its tokens shown as text; bad input gets one line.
 */
class SaeFeaturesCommandTest {
    private static final Path SAE = Path.of("../testdata/sae/gpt2/standard_resid_pre_l0");

    @TempDir
    Path tmp;

    @Test
    void pagesOfTheDensestFeaturesByTheReferenceDensity() throws Exception {
        Path in = tmp.resolve("in.safetensors");
        float[] density;
        try (SafetensorsFile ref = SafetensorsFile.open(SAE.resolve("reference.safetensors"));
             NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(in, Map.of("input_ids", ref.load("input_ids", manager)));
            density = ref.load("evals_feature.feature_density", manager).toFloatArray();
        }
        Path out = tmp.resolve("pages");
        CliTestSupport.Result result = run("sae", "features", "--model", CliTestSupport.GPT2.toString(), "--sae",
                SAE.toString(), "--data", in.toString(), "--out", out.toString(), "--features", "3", "--top", "2");
        assertThat(result.exitCode()).as(result.err()).isZero();
        long fired = IntStream.range(0, density.length).filter(f -> density[f] > 0).count();
        assertThat(result.out()).contains(fired + " of 128 features fired on 32 tokens (2 sequences); wrote 3 feature"
                + " pages and " + out.resolve("index.html"));
        List<Integer> densest = IntStream.range(0, density.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(f -> -density[f]).thenComparing(Comparator.naturalOrder()))
                .limit(3).toList();
        try (Stream<Path> files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrderElementsOf(Stream.concat(
                    Stream.of("index.html"), densest.stream().map(f -> "feature-" + f + ".html")).toList());
        }
        for (int f : densest) {
            String page = Files.readString(out.resolve("feature-" + f + ".html"), StandardCharsets.UTF_8);
            assertThat(page).contains("<title>Feature " + f + " of standard_resid_pre_l0 (blocks.0.hook_resid_pre)",
                    String.format(Locale.ROOT, "on %d of 32 tokens: density %.4g", Math.round(density[f] * 32), density[f]),
                    "href=\"index.html\"", "data-kind=\"contexts\"", "W_dec[" + f + "]");
        }
        String index = Files.readString(out.resolve("index.html"), StandardCharsets.UTF_8);
        assertThat(index).contains("\"href\":\"feature-" + densest.get(0) + ".html\"");
    }

    @Test
    void aListPicksTheFeaturesAndTextIsTokenised() throws Exception {
        Path text = tmp.resolve("corpus.txt");
        Files.writeString(text, EnglishText.generate(3000, 9), StandardCharsets.UTF_8);
        Path out = tmp.resolve("pages");
        CliTestSupport.Result result = run("sae", "features", "--model", CliTestSupport.GPT2_TOK.toString(), "--sae",
                SAE.toString(), "--data", text.toString(), "--out", out.toString(), "--features", "5, 77", "--ctx", "32");
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("wrote 2 feature pages");
        try (Stream<Path> files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("index.html", "feature-5.html", "feature-77.html");
        }
        // gpt2-tok has GPT-2's vocabulary: contexts show token text (spaces as ␣), not ids.
        String page = Files.readString(out.resolve("feature-5.html"), StandardCharsets.UTF_8);
        assertThat(page).contains("\u2423the").doesNotContain("\"tokens\":[\"#");
    }

    @Test
    void anSaeOnTheMlpsHiddenLayerGetsPagesWithoutLogits() throws Exception {
        Path mlp = Files.createDirectories(tmp.resolve("mlp_sae"));
        Files.writeString(mlp.resolve("cfg.json"), Files.readString(SAE.resolve("cfg.json"))
                .replace("\"d_in\": 32", "\"d_in\": 128").replace("blocks.0.hook_resid_pre", "blocks.0.mlp.hook_post"));
        Path in = tmp.resolve("in.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(mlp.resolve("sae_weights.safetensors"), Map.of(
                    "W_enc", manager.randomNormal(new Shape(128, 128)), "W_dec", manager.randomNormal(new Shape(128, 128)),
                    "b_enc", manager.zeros(new Shape(128)), "b_dec", manager.zeros(new Shape(128))));
            SafetensorsWriter.write(in, Map.of("tokens", manager.randomInteger(0, 512, new Shape(6, 16), DataType.INT64)));
        }
        Path out = tmp.resolve("pages");
        CliTestSupport.Result result = run("sae", "features", "--model", CliTestSupport.GPT2.toString(), "--sae",
                mlp.toString(), "--data", in.toString(), "--out", out.toString(), "--features", "2");
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.err()).contains("no promoted tokens: the SAE's output at blocks.0.mlp.hook_post is neither in the"
                + " residual stream nor hook_z");
        assertThat(result.out()).contains("on 96 tokens (6 sequences); wrote 2 feature pages");
    }

    @Test
    void helpNamesTheOptionsAndTheBoundedDefault() {
        CliTestSupport.Result help = run("sae", "features", "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out().replaceAll("\\s+", " ")).contains("--model", "--sae=DIR", "--data=FILE", "--out=DIR",
                "--top=K", "--features=N|LIST", "the N densest of those that fired (default: 100, so that", "--ctx=N",
                "input_ids or tokens");
        assertThat(run("sae", "--help").out()).contains("features");
    }

    @Test
    void badInputGetsOneLine() throws Exception {
        Path in = tmp.resolve("in.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(in, Map.of("ids", manager.create(new long[][] {{1, 2}})));
        }
        String[] base = {"sae", "features", "--model", CliTestSupport.GPT2.toString(), "--sae", SAE.toString(), "--data",
            in.toString(), "--out", tmp.resolve("pages").toString()};
        run(concat(base)).failedWithOneLine("has neither input_ids nor tokens (it holds: ids)");
        CliTestSupport.Result missing = run(concat(base, "--features", "3,128"));
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("--features: feature 128 does not exist; the SAE has features 0 to 127");
        CliTestSupport.Result words = run(concat(base, "--features", "all"));
        assertThat(words.exitCode()).isEqualTo(2);
        assertThat(words.err()).contains("--features all is neither a count N nor a comma-separated list");
        CliTestSupport.Result inside = run("sae", "features", "--model", CliTestSupport.GPT2.toString(), "--sae",
                SAE.toString(), "--data", in.toString(), "--out", SAE.resolve("pages").toString());
        assertThat(inside.exitCode()).isEqualTo(2);
        assertThat(inside.err()).contains("is inside the SAE folder");
        Path text = tmp.resolve("corpus.txt");
        Files.writeString(text, "Some text.", StandardCharsets.UTF_8);
        run("sae", "features", "--model", CliTestSupport.GPT2.toString(), "--sae", SAE.toString(), "--data",
                text.toString(), "--out", tmp.resolve("pages").toString()).failedWithOneLine("needs the model's tokenizer");
    }

    private static String[] concat(String[] base, String... more) {
        return Stream.concat(Stream.of(base), Stream.of(more)).toArray(String[]::new);
    }
}
