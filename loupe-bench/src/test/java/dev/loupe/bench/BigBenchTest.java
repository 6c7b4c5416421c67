package dev.loupe.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.bench.BigChild.Measurement;
import dev.loupe.bench.BigChild.Plan;
import dev.loupe.config.WeightDtype;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer and table of {@link BigBench} at a tiny scale: folders written by the same code as the
 * real-size ones (several shards, an index, bfloat16) load with Loupe and give finite logits, the
 * memory sampler reads real numbers, and the table puts the targets beside them.
 */
class BigBenchTest {
    /** Gemma 2 in miniature: 2 layers, 64 wide, grouped-query attention, soft-caps, a sliding layer, tied. */
    static final BigShape TINY_GEMMA2 = new BigShape("tiny-gemma2", "gemma2", 2, 64, 4, 2, 16, 128, 512, 0, 0, true,
            256, 4);
    static final BigShape TINY_MIXTRAL = new BigShape("tiny-mixtral", "mixtral", 2, 64, 4, 2, 16, 96, 512, 4, 2, false,
            256, 0);
    static final BigShape TINY_DENSE = new BigShape("tiny-mixtral-dense", "mistral", 2, 64, 4, 2, 16, 192, 512, 0, 0,
            false, 256, 0);
    /** Small enough that each tiny model spans several shards. */
    static final long TINY_SHARD = 64 * 1024;
    static final Plan TINY_PLAN = new Plan(1, 2, 64, 4);

    @TempDir
    Path base;

    @Test
    void theRealSizeShapesHaveTheRealParameterCounts() {
        // Hugging Face's counts for google/gemma-2-2b and google/gemma-2-9b (tied embeddings once).
        assertThat(BigShape.GEMMA2_2B.parameters()).isEqualTo(2_614_341_888L);
        assertThat(BigShape.GEMMA2_9B.parameters()).isEqualTo(9_241_705_984L);
        // The dense comparison model does the same matMul work per token as Mixtral's two experts.
        assertThat(BigShape.MIXTRAL.flopsPerToken(128) - BigShape.MIXTRAL_DENSE.flopsPerToken(128))
                .isEqualTo(2.0 * BigShape.MIXTRAL.layers() * BigShape.MIXTRAL.dModel() * BigShape.MIXTRAL.experts());
    }

    @Test
    void theFlopModelIsReportsLlamaModelForADenseShape() {
        BigShape llamaShaped = new BigShape("llama-shaped", "mistral", LlamaShapedFixture.N_LAYERS,
                LlamaShapedFixture.D_MODEL, LlamaShapedFixture.N_HEADS, LlamaShapedFixture.N_KV_HEADS,
                LlamaShapedFixture.D_HEAD, LlamaShapedFixture.D_MLP, LlamaShapedFixture.D_VOCAB, 0, 0, false,
                LlamaShapedFixture.N_CTX, 0);
        assertThat(llamaShaped.flopsPerToken(128)).isEqualTo(Report.LlamaDims.LLAMA_SHAPED.flopsPerToken(128));
    }

    @Test
    void shardsAnIndexAndBfloat16ThatLoadAndGiveFiniteLogits() throws IOException {
        Path dir = ShardedFixture.cachedOrGenerated(base, TINY_GEMMA2, TINY_SHARD);
        List<ShardedFixture.Shard> shards = ShardedFixture.shards(TINY_GEMMA2, TINY_SHARD);
        assertThat(shards).hasSizeGreaterThan(1);
        JsonNode weightMap = new ObjectMapper().readTree(dir.resolve(ShardedFixture.INDEX).toFile()).get("weight_map");
        assertThat(weightMap.size()).isEqualTo(TINY_GEMMA2.tensors().size());
        try (SafetensorsFile first = SafetensorsFile.open(dir.resolve(shards.get(0).file()))) {
            assertThat(first.info("model.embed_tokens.weight").dtype()).isEqualTo("BF16");
        }

        Measurement m = BigChild.measure(dir, TINY_GEMMA2.name(), WeightDtype.FLOAT32, "warm", TINY_PLAN);
        assertThat(m.finite()).isTrue();
        assertThat(m.forwardMs()).isPositive();
        assertThat(m.generateMs()).isPositive();
        assertThat(m.matMulMs()).isPositive();
        assertThat(m.loadMs()).isPositive();
        assertThat(m.peakAnon()).isGreaterThanOrEqualTo(m.loadPeakAnon()).isPositive();
        assertThat(m.hwm()).isPositive();
        assertThat(m.peakHeap()).isPositive();
        assertThat(m.stalledMs()).isNotNegative();

        Measurement half = BigChild.measure(dir, TINY_GEMMA2.name(), WeightDtype.FLOAT16, "warm", Plan.loadOnly());
        assertThat(half.dtype()).isEqualTo("float16");
        assertThat(half.forwardMs()).isNull();
    }

    @Test
    void aCompleteFolderIsReusedAndAChangedOneRewritten() throws IOException {
        Path dir = ShardedFixture.cachedOrGenerated(base, TINY_DENSE, TINY_SHARD);
        Path shard = dir.resolve(ShardedFixture.shards(TINY_DENSE, TINY_SHARD).get(0).file());
        FileTime written = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(shard, written);
        ShardedFixture.cachedOrGenerated(base, TINY_DENSE, TINY_SHARD);
        assertThat(Files.getLastModifiedTime(shard)).isEqualTo(written);

        Files.write(shard, new byte[] {1, 2, 3});
        ShardedFixture.cachedOrGenerated(base, TINY_DENSE, TINY_SHARD);
        assertThat(Files.size(shard)).isEqualTo(ShardedFixture.shards(TINY_DENSE, TINY_SHARD).get(0).fileBytes());
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertThat(ShardedFixture.bfloat16(1f)).isEqualTo((short) 0x3F80);
        assertThat(ShardedFixture.bfloat16(-2f)).isEqualTo((short) 0xC000);
        // 1 + 2^-8 lies halfway between 1 and the next bfloat16 (1 + 2^-7): ties go to the even one, 1.
        assertThat(ShardedFixture.bfloat16(1f + 0x1p-8f)).isEqualTo((short) 0x3F80);
        assertThat(ShardedFixture.bfloat16(1f + 0x1p-8f + 0x1p-12f)).isEqualTo((short) 0x3F81);
    }

    @Test
    void theSamplerReadsThisProcess() {
        try (RssSampler sampler = RssSampler.start(10)) {
            byte[][] touched = new byte[8][];
            for (int i = 0; i < touched.length; i++) {
                touched[i] = new byte[1 << 20];
                Arrays.fill(touched[i], (byte) 1);
            }
            RssSampler.Peak peak = sampler.peak();
            assertThat(peak.anon()).isPositive();
            assertThat(peak.file()).isPositive();
            assertThat(peak.sum()).isGreaterThanOrEqualTo(Math.max(peak.anon(), peak.file()));
            assertThat(peak.hwm()).isPositive();
            assertThat(peak.heap()).isPositive();
            assertThat(touched[7][0]).isEqualTo((byte) 1);
        }
        assertThat(RssSampler.memAvailable()).isPositive();
    }

    @Test
    void theTablePutsTheTargetsBesideTheFigures() {
        Path moeDir = ShardedFixture.cachedOrGenerated(base, TINY_MIXTRAL, TINY_SHARD);
        Path denseDir = ShardedFixture.cachedOrGenerated(base, TINY_DENSE, TINY_SHARD);
        Measurement moe = BigChild.measure(moeDir, TINY_MIXTRAL.name(), WeightDtype.FLOAT32, "warm",
                new Plan(1, 2, 64, 0));
        Measurement dense = BigChild.measure(denseDir, TINY_DENSE.name(), WeightDtype.FLOAT32, "warm",
                new Plan(1, 2, 64, 0));
        assertThat(moe.finite()).isTrue();
        assertThat(dense.finite()).isTrue();
        PairedForwards.Pair pair = PairedForwards.measure(moeDir, denseDir, 1, 2);
        assertThat(pair.a()).isEqualTo(TINY_MIXTRAL.name());
        assertThat(pair.b()).isEqualTo(TINY_DENSE.name());
        assertThat(pair.aMs()).isPositive();
        assertThat(pair.bMs()).isPositive();
        String table = BigReport.render(List.of(moe, dense), List.of(pair),
                Map.of(TINY_MIXTRAL.name(), TINY_MIXTRAL, TINY_DENSE.name(), TINY_DENSE), List.of("a skipped run"));
        assertThat(table).startsWith("| model | weights | page cache | figure | value | target | status |")
                .contains("| load | ", "≤ 15 s", "≤ 1.15×", "Java heap committed", "forward 1×128 ratio", "≤ 1.3×")
                .contains("- a skipped run")
                .contains(String.format(Locale.ROOT, "%.0f / %.0f ms)", moe.forwardMs(), dense.forwardMs()))
                .contains(String.format(Locale.ROOT, "%.2f× (%.0f / %.0f ms, 2 pairs) | ≤ 1.3× |", pair.ratio(),
                        pair.aMs(), pair.bMs()));
    }
}
