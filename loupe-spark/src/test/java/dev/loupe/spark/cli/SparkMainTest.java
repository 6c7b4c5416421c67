package dev.loupe.spark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.sae.train.ActivationStore;
import dev.loupe.spark.SparkTesting;
import dev.loupe.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Spark commands, run in this JVM on the tests' local[2] session. */
class SparkMainTest {
    private static final String MODEL = Fixtures.model("gpt2-tok").toString();
    private static final String TEXT = Fixtures.ROOT.resolve("text/loupe.txt").toString();

    @Test
    void harvestThenStatsWriteTheirFiles(@TempDir Path dir) {
        SparkTesting.session();
        Path parquet = dir.resolve("h.parquet");
        int harvest = SparkMain.run("spark", "harvest", "--master", "local[2]", "--partitions", "2", "--model", MODEL,
                "--data", TEXT, "--hooks", "blocks\\.1\\.hook_resid_post", "--seq-len", "16", "--positions", "1:16",
                "--out", parquet.toString(), "--store-hook", "blocks.1.hook_resid_post", "--tokens-per-shard", "64");
        assertThat(harvest).isZero();
        long rows = SparkTesting.session().read().parquet(parquet.toString()).count();
        assertThat(rows).isPositive().isEqualTo(ActivationStore.read(Path.of(parquet + "-store")).totalTokens());
        assertThat(rows % 15).as("positions 1 to 15 of each chunk").isZero();

        int stats = SparkMain.run("spark", "stats", "--master", "local[2]", "--harvest", parquet.toString(), "--out",
                dir.resolve("stats").toString(), "--contexts-hook", "blocks.1.hook_resid_post", "--top-k", "2",
                "--model", MODEL, "--show", "2");
        assertThat(stats).isZero();
        assertThat(dir.resolve("stats")).isDirectoryContaining(p -> p.endsWith("moments.json"))
                .isDirectoryContaining(p -> p.endsWith("means.safetensors"))
                .isDirectoryContaining(p -> p.endsWith("contexts.json"))
                .isDirectoryContaining(p -> p.endsWith("contexts.html"));
    }

    @Test
    void badPositionsAreRefusedByName(@TempDir Path dir) {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = SparkMain.run("spark", "harvest", "--master", "local[2]", "--model", MODEL, "--data", TEXT,
                    "--hooks", "hook_embed", "--seq-len", "16", "--positions", "5", "--out", dir.resolve("o").toString());
        } finally {
            System.setErr(err);
        }
        assertThat(status).isEqualTo(1);
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("--positions takes FROM:TO");
        assertThat(Files.exists(dir.resolve("o"))).isFalse();
    }
}
