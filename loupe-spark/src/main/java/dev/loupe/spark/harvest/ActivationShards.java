package dev.loupe.spark.harvest;

import static org.apache.spark.sql.functions.col;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.sae.train.ActivationStore;
import dev.loupe.spark.RowArrays;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import scala.Tuple2;

/**
 * One hook of a harvest as an {@link ActivationStore} folder (safetensors shards of {@code activations}
 * [tokens, d_in] float32 and {@code manifest.json}), which the SAE trainer reads with {@code StoredActivations} and
 * numpy with {@code safetensors.numpy.load_file}. Tokens are stored in {@code TokenChunks}' order (group, chunk,
 * position). Shard {@code i} holds tokens {@code [i·tokensPerShard, (i+1)·tokensPerShard)} and is written by one task
 * under a temporary name, then renamed: a retried task writes the same bytes to the same name, so shards are never
 * duplicated or lost; the driver writes the manifest last. The folder must be one every executor writes to (a shared
 * file system, or a local path with {@code local[*]}).
 */
public final class ActivationShards {
    private ActivationShards() {}

    /** Writes {@code hook}'s column of the harvested {@code rows} into the store {@code dir}; returns its manifest. */
    public static ActivationStore.Manifest write(Dataset<Row> rows, String hook, Path dir, int tokensPerShard) {
        if (tokensPerShard <= 0) {
            throw new LoupeException("A shard needs at least one token, got " + tokensPerShard);
        }
        if (!List.of(rows.columns()).contains(hook)) {
            throw new LoupeException("The harvest has no hook " + hook + "; it has " + List.of(rows.columns()));
        }
        String out = dir.toAbsolutePath().toString();
        JavaPairRDD<Long, float[]> indexed = rows
                .select(col(HarvestSchema.GROUP), col(HarvestSchema.CHUNK), col(HarvestSchema.POSITION), col("`" + hook + "`"))
                .orderBy(HarvestSchema.GROUP, HarvestSchema.CHUNK, HarvestSchema.POSITION)
                .javaRDD().zipWithIndex()
                .mapToPair(pair -> new Tuple2<>(pair._2(), RowArrays.floats(pair._1(), 3)));
        long total = indexed.count();
        if (total == 0) {
            throw new LoupeException("The harvest has no rows, so there is nothing to store");
        }
        int shards = (int) ((total + tokensPerShard - 1) / tokensPerShard);
        List<Tuple2<Integer, Long>> written = indexed
                .partitionBy(new ShardPartitioner(shards, tokensPerShard))
                .mapPartitionsWithIndex((index, part) -> writeShard(out, index, part), true)
                .collect();
        List<ActivationStore.Shard> listed = written.stream().sorted(Comparator.comparingInt(Tuple2::_1))
                .map(shard -> new ActivationStore.Shard(shardName(shard._1()), shard._2())).toList();
        int dIn = RowArrays.floats(rows.select(col("`" + hook + "`")).head(), 0).length;
        ActivationStore.writeManifest(dir, new ActivationStore.Manifest(hook, dIn, tokensPerShard, listed));
        return ActivationStore.read(dir);
    }

    private static Iterator<Tuple2<Integer, Long>> writeShard(String dir, int index, Iterator<Tuple2<Long, float[]>> rows)
            throws IOException {
        List<Tuple2<Long, float[]>> sorted = new ArrayList<>();
        rows.forEachRemaining(sorted::add);
        if (sorted.isEmpty()) {
            return List.<Tuple2<Integer, Long>>of().iterator();
        }
        sorted.sort((a, b) -> Long.compare(a._1(), b._1()));
        int width = sorted.get(0)._2().length;
        float[] values = new float[sorted.size() * width];
        for (int i = 0; i < sorted.size(); i++) {
            System.arraycopy(sorted.get(i)._2(), 0, values, i * width, width);
        }
        Path folder = Path.of(dir);
        Files.createDirectories(folder);
        Path temporary = Files.createTempFile(folder, ".shard", ".tmp");
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(temporary, Map.of(ActivationStore.TENSOR,
                    manager.create(values, new Shape(sorted.size(), width))));
            Files.move(temporary, folder.resolve(shardName(index)), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
        return List.of(new Tuple2<>(index, (long) sorted.size())).iterator();
    }

    private static String shardName(int index) {
        return String.format(Locale.ROOT, "shard_%05d.safetensors", index);
    }

    /** Token {@code i} to shard {@code i / tokensPerShard}. */
    private static final class ShardPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int shards;
        private final long tokensPerShard;

        ShardPartitioner(int shards, long tokensPerShard) {
            this.shards = shards;
            this.tokensPerShard = tokensPerShard;
        }

        @Override
        public int numPartitions() {
            return shards;
        }

        @Override
        public int getPartition(Object key) {
            return (int) ((Long) key / tokensPerShard);
        }
    }
}
