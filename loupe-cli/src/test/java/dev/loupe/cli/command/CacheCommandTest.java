package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.GPT2;
import static dev.loupe.cli.CliTestSupport.GPT2_REFERENCE;
import static dev.loupe.cli.CliTestSupport.GPT2_TOK;
import static dev.loupe.cli.CliTestSupport.TL_CACHE;
import static dev.loupe.cli.CliTestSupport.assertClose;
import static dev.loupe.cli.CliTestSupport.floats;
import static dev.loupe.cli.CliTestSupport.longs;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheCommandTest {
    @TempDir
    Path tmp;

    private CliTestSupport.Result cache(Path input, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("cache", "--model", GPT2.toString(), "--input", input.toString(),
                "--out", out.toString()));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    private static List<String> names(Path file) {
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            return in.names();
        }
    }

    private static String dtype(Path file, String name) {
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            return in.info(name).dtype();
        }
    }

    /** Writes a safetensors input file. */
    private Path input(String fileName, Map<String, long[][]> int64, Map<String, boolean[][]> bools) {
        Path file = tmp.resolve(fileName);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            int64.forEach((name, values) -> tensors.put(name, manager.create(values)));
            bools.forEach((name, values) -> tensors.put(name, manager.create(values)));
            SafetensorsWriter.write(file, tensors);
        }
        return file;
    }

    private static long[][] referenceIds() {
        long[] flat = longs(GPT2_REFERENCE, "input_ids");
        long[][] ids = new long[2][16];
        for (int b = 0; b < 2; b++) {
            System.arraycopy(flat, b * 16, ids[b], 0, 16);
        }
        return ids;
    }

    @Test
    void writesEveryHookAndHuggingFaceLogits() {
        Path out = tmp.resolve("out.safetensors");
        CliTestSupport.Result result = cache(GPT2_REFERENCE, out, "--no-processing");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.err()).isEmpty();
        assertThat(result.out()).startsWith("Wrote 40 activations, logits [2, 16, 512] and input_ids [2, 16] to ");
        List<String> names = names(out);
        assertThat(names).hasSize(42).contains("logits", "input_ids", "hook_embed", "blocks.0.attn.hook_pattern",
                "blocks.1.hook_resid_post", "ln_final.hook_normalized", "unembed.hook_out");
        assertClose("logits", floats(out, "logits"), floats(GPT2_REFERENCE, "logits"), 1e-4);
        assertThat(longs(out, "input_ids")).containsExactly(longs(GPT2_REFERENCE, "input_ids"));
        assertThat(dtype(out, "input_ids")).isEqualTo("I64");
        // Every activation is float32 and equals TransformerLens's, under the same name.
        List<String> tlNames = names(TL_CACHE);
        assertThat(names).containsAll(tlNames);
        for (String name : tlNames) {
            assertThat(dtype(out, name)).as(name).isEqualTo("F32");
            assertClose(name, floats(out, name), floats(TL_CACHE, name), 1e-4);
        }
    }

    @Test
    void hooksRegexMustMatchTheWholeName() {
        Path out = tmp.resolve("block0.safetensors");
        CliTestSupport.Result result = cache(GPT2_REFERENCE, out, "--no-processing", "--hooks", "blocks\\.0\\..*");

        assertThat(result.exitCode()).as(result.err()).isZero();
        List<String> hooks = names(out).stream().filter(n -> !n.equals("logits") && !n.equals("input_ids")).toList();
        assertThat(hooks).hasSize(17).allMatch(n -> n.startsWith("blocks.0."));
        assertThat(names(out)).contains("logits", "input_ids");

        // "hook_pattern" alone is part of names only: a whole-name match finds nothing.
        Path partial = tmp.resolve("partial.safetensors");
        assertThat(cache(GPT2_REFERENCE, partial, "--no-processing", "--hooks", "hook_pattern").exitCode()).isZero();
        assertThat(names(partial)).containsExactlyInAnyOrder("logits", "input_ids");
    }

    @Test
    void emptyRegexCachesNothing() {
        Path out = tmp.resolve("none.safetensors");
        CliTestSupport.Result result = cache(GPT2_REFERENCE, out, "--no-processing", "--hooks", "^$");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.err()).isEmpty();
        assertThat(result.out()).startsWith("Wrote 0 activations (--hooks '^$' matches none of the model's 40 hook");
        assertThat(names(out)).containsExactlyInAnyOrder("logits", "input_ids");
        assertClose("logits", floats(out, "logits"), floats(GPT2_REFERENCE, "logits"), 1e-4);
    }

    @Test
    void attentionMaskRoundTrips() {
        long[][] ids = referenceIds();
        long[][] mask = new long[2][16];
        for (int p = 0; p < 16; p++) {
            mask[0][p] = 1;
            mask[1][p] = p < 3 ? 0 : 1; // left padding in the second sequence
        }
        Path in = input("masked.safetensors", Map.of("input_ids", ids, "attention_mask", mask), Map.of());
        Path out = tmp.resolve("masked-out.safetensors");

        CliTestSupport.Result result = cache(in, out, "--no-processing", "--hooks", ".*hook_pattern");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(names(out)).containsExactly("blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern", "logits",
                "input_ids", "attention_mask");
        assertThat(dtype(out, "attention_mask")).isEqualTo("I64");
        assertThat(longs(out, "attention_mask")).containsExactly(
                java.util.Arrays.stream(mask).flatMapToLong(java.util.Arrays::stream).toArray());
        // The unpadded first sequence is unchanged; padded keys get no attention in the second.
        float[] logits = floats(out, "logits");
        float[] reference = floats(GPT2_REFERENCE, "logits");
        assertClose("logits of sequence 0", java.util.Arrays.copyOf(logits, 16 * 512),
                java.util.Arrays.copyOf(reference, 16 * 512), 1e-4);
        float[] pattern = floats(out, "blocks.0.attn.hook_pattern"); // [2, 4, 16, 16]
        int base = 4 * 16 * 16; // sequence 1, head 0
        assertThat(pattern[base + 15 * 16]).isZero(); // query 15 attends to padded key 0 not at all
    }

    @Test
    void boolMaskIsWrittenAsInt64() {
        boolean[][] mask = new boolean[2][16];
        for (boolean[] row : mask) {
            java.util.Arrays.fill(row, true);
        }
        Path in = input("bool.safetensors", Map.of("input_ids", referenceIds()), Map.of("attention_mask", mask));
        Path out = tmp.resolve("bool-out.safetensors");

        assertThat(cache(in, out, "--no-processing", "--hooks", "^$").exitCode()).isZero();
        assertThat(dtype(out, "attention_mask")).isEqualTo("I64");
        assertThat(longs(out, "attention_mask")).hasSize(32).containsOnly(1L);
        assertClose("logits", floats(out, "logits"), floats(GPT2_REFERENCE, "logits"), 1e-4);
    }

    @Test
    void processesWeightsByDefaultAsTransformerLens() {
        Path out = tmp.resolve("processed.safetensors");
        CliTestSupport.Result result = cache(GPT2_REFERENCE, out);
        assertThat(result.exitCode()).as(result.err()).isZero();
        Path processed = Path.of("../testdata/tl/gpt2/cache_processed.safetensors");
        for (String name : List.of("blocks.0.hook_resid_pre", "blocks.1.attn.hook_pattern", "ln_final.hook_normalized")) {
            assertClose(name, floats(out, name), floats(processed, name), 1e-4);
        }
    }

    @Test
    void reportsBadInputsOnOneLine() {
        Path out = tmp.resolve("never.safetensors");
        Path noIds = input("no-ids.safetensors", Map.of("tokens", referenceIds()), Map.of());
        cache(noIds, out, "--no-processing").failedWithOneLine("has no tensor 'input_ids' (it holds: tokens)");

        Path floatIds;
        try (NDManager manager = NDManager.newBaseManager()) {
            floatIds = tmp.resolve("float-ids.safetensors");
            SafetensorsWriter.write(floatIds, Map.of("input_ids", manager.create(referenceIds()).toType(DataType.FLOAT32,
                    false)));
        }
        cache(floatIds, out, "--no-processing").failedWithOneLine("input_ids has dtype F32 but must be int64");

        Path rank1;
        try (NDManager manager = NDManager.newBaseManager()) {
            rank1 = tmp.resolve("rank1.safetensors");
            SafetensorsWriter.write(rank1, Map.of("input_ids", manager.create(referenceIds()[0])));
        }
        cache(rank1, out, "--no-processing").failedWithOneLine("input_ids has shape [16] but must be [batch, pos]");

        Path badMask = input("bad-mask.safetensors",
                Map.of("input_ids", referenceIds(), "attention_mask", new long[2][15]), Map.of());
        cache(badMask, out, "--no-processing")
                .failedWithOneLine("attention_mask has shape [2, 15] but input_ids has shape [2, 16]");

        Path outOfVocab = input("oov.safetensors", Map.of("input_ids", new long[][] {{1, 2, 512}}), Map.of());
        cache(outOfVocab, out, "--no-processing").failedWithOneLine("512");

        cache(GPT2_REFERENCE, out, "--no-processing", "--hooks", "blocks.(0")
                .failedWithOneLine("--hooks: bad regular expression 'blocks.(0'");

        cache(tmp.resolve("missing.safetensors"), out, "--no-processing").failedWithOneLine("missing.safetensors");

        CliTestSupport.Result noModel = run("cache", "--model", tmp.resolve("no-such-model").toString(), "--input",
                GPT2_REFERENCE.toString(), "--out", out.toString(), "--no-processing");
        noModel.failedWithOneLine("no-such-model");

        assertThat(out).doesNotExist();
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void missingOptionIsAUsageError() {
        CliTestSupport.Result result = run("cache", "--model", GPT2.toString(), "--no-processing");
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("Missing required option: '--out=OUT'");
    }

    // ---- --prompt ---------------------------------------------------------------------------

    private static final String HELLO = "Hello, world!"; // <|endoftext|> Hello , ␣world !   = 5 tokens
    private static final String FOX = "The quick brown fox jumps"; // <|endoftext|> The ␣quick ␣brown ␣fox ␣jumps = 6
    private static final int VOCAB = 50257;
    private static final long PAD = 50256;

    /** {@code loupe cache} on the real-vocabulary model, caching one small hook. */
    private CliTestSupport.Result cachePrompts(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("cache", "--model", GPT2_TOK.toString(), "--out", out.toString(),
                "--no-processing", "--hooks", "blocks\\.0\\.hook_resid_pre"));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    private static long[] shape(Path file, String name) {
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            return in.info(name).shape();
        }
    }

    /** Logits [pos, vocab] of one prompt cached on its own. */
    private float[] aloneLogits(String prompt, long[] expectedIds) {
        Path out = tmp.resolve("alone-" + expectedIds.length + ".safetensors");
        CliTestSupport.Result result = cachePrompts(out, "--prompt", prompt);
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(names(out)).as("nothing is padded, so no mask").doesNotContain("attention_mask");
        assertThat(longs(out, "input_ids")).containsExactly(expectedIds);
        return floats(out, "logits");
    }

    private static float[] positions(float[] logits, int batch, int width, int from, int count) {
        int start = (batch * width + from) * VOCAB;
        return Arrays.copyOfRange(logits, start, start + count * VOCAB);
    }

    @Test
    void promptsArePaddedAndMaskedAndGiveEachPromptsOwnLogits() {
        long[] hello = {50256, 15496, 11, 995, 0};
        long[] fox = {50256, 464, 2068, 7586, 21831, 18045};
        float[] helloAlone = aloneLogits(HELLO, hello);
        float[] foxAlone = aloneLogits(FOX, fox);

        Path right = tmp.resolve("right.safetensors");
        CliTestSupport.Result result = cachePrompts(right, "--prompt", HELLO, "--prompt", FOX);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.err()).isEmpty();
        assertThat(result.out()).startsWith("Wrote 1 activation, logits [2, 6, 50257] and input_ids [2, 6],"
                + " attention_mask to ");
        assertThat(names(right)).containsExactly("blocks.0.hook_resid_pre", "logits", "input_ids", "attention_mask");
        assertThat(shape(right, "input_ids")).containsExactly(2, 6);
        assertThat(dtype(right, "input_ids")).isEqualTo("I64");
        assertThat(dtype(right, "attention_mask")).isEqualTo("I64");
        assertThat(longs(right, "input_ids")).containsExactly(50256, 15496, 11, 995, 0, PAD,
                50256, 464, 2068, 7586, 21831, 18045);
        assertThat(longs(right, "attention_mask")).containsExactly(1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1);
        float[] logits = floats(right, "logits");
        assertClose("right-padded Hello", positions(logits, 0, 6, 0, 5), helloAlone, 1e-4);
        assertClose("fox", positions(logits, 1, 6, 0, 6), foxAlone, 1e-4);

        Path left = tmp.resolve("left.safetensors");
        result = cachePrompts(left, "--prompt", HELLO, "--prompt", FOX, "--padding-side", "left");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(longs(left, "input_ids")).containsExactly(PAD, 50256, 15496, 11, 995, 0,
                50256, 464, 2068, 7586, 21831, 18045);
        assertThat(longs(left, "attention_mask")).containsExactly(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        logits = floats(left, "logits");
        assertClose("left-padded Hello", positions(logits, 0, 6, 1, 5), helloAlone, 1e-4);
        assertClose("fox", positions(logits, 1, 6, 0, 6), foxAlone, 1e-4);
    }

    @Test
    void noPrependBosDropsTheBosToken() {
        Path out = tmp.resolve("no-bos.safetensors");
        CliTestSupport.Result result = cachePrompts(out, "--prompt", HELLO, "--no-prepend-bos");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(longs(out, "input_ids")).containsExactly(15496, 11, 995, 0);
        assertThat(names(out)).containsExactly("blocks.0.hook_resid_pre", "logits", "input_ids");
    }

    @Test
    void promptAndInputAreExclusiveAndOneIsRequired() {
        Path out = tmp.resolve("never.safetensors");
        CliTestSupport.Result both = cachePrompts(out, "--prompt", HELLO, "--input", GPT2_REFERENCE.toString());
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).startsWith("--prompt and --input are mutually exclusive");

        CliTestSupport.Result neither = cachePrompts(out);
        assertThat(neither.exitCode()).isEqualTo(2);
        assertThat(neither.err()).startsWith("Missing the input: give --prompt TEXT").contains("--input IN");

        CliTestSupport.Result padding = cache(GPT2_REFERENCE, out, "--no-processing", "--padding-side", "left");
        assertThat(padding.exitCode()).isEqualTo(2);
        assertThat(padding.err()).contains("--padding-side applies to --prompt only");

        CliTestSupport.Result bad = cachePrompts(out, "--prompt", HELLO, "--padding-side", "middle");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("--padding-side", "expected left or right, got 'middle'");
        assertThat(out).doesNotExist();
    }

    @Test
    void promptWithoutATokenizerSaysSo() {
        Path out = tmp.resolve("never.safetensors");
        CliTestSupport.Result result = run("cache", "--model", GPT2.toString(), "--prompt", HELLO, "--out",
                out.toString(), "--no-processing");

        result.failedWithOneLine("tokenizer.json");
        assertThat(result.err()).startsWith("loupe: --prompt needs the model's tokenizer, but ")
                .contains("--input IN");
        assertThat(out).doesNotExist();
    }
}
