package dev.loupe.spark.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;

/**
 * The baseline of the harvest benchmark: one process, one loop over batches of chunks, the same rows written to one
 * Parquet file with parquet-hadoop's own writer (the library Spark writes with), no Spark.
 */
final class SinglePassParquet {
    private SinglePassParquet() {}

    /** Runs {@code chunks} through {@code model} {@code batch} at a time; writes every {@code hooks} value. */
    static long write(HookedTransformer model, List<long[]> chunks, List<String> hooks, int batch, Path file)
            throws IOException {
        Types.GroupBuilder<MessageType> schema = Types.buildMessage()
                .required(PrimitiveTypeName.INT32).named("group")
                .required(PrimitiveTypeName.INT32).named("chunk")
                .required(PrimitiveTypeName.INT64).named("document")
                .required(PrimitiveTypeName.INT32).named("position")
                .required(PrimitiveTypeName.INT64).named("token");
        for (String hook : hooks) {
            schema.addField(Types.optionalGroup().as(LogicalTypeAnnotation.listType())
                    .addField(Types.repeatedGroup().addField(Types.required(PrimitiveTypeName.FLOAT).named("element"))
                            .named("list"))
                    .named(hook));
        }
        MessageType type = schema.named("harvest");
        SimpleGroupFactory groups = new SimpleGroupFactory(type);
        int length = chunks.get(0).length;
        long rows = 0;
        CacheOptions options = CacheOptions.filtered(hooks::contains);
        try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new org.apache.hadoop.fs.Path(file.toUri()))
                .withType(type).withConf(new Configuration()).build()) {
            for (int start = 0; start < chunks.size(); start += batch) {
                int count = Math.min(batch, chunks.size() - start);
                long[] ids = new long[count * length];
                for (int b = 0; b < count; b++) {
                    System.arraycopy(chunks.get(start + b), 0, ids, b * length, length);
                }
                float[][] values = new float[hooks.size()][];
                try (NDManager manager = NDManager.newBaseManager();
                        ActivationCache cache = model.runWithCache(manager.create(ids, new Shape(count, length)), options)) {
                    for (int h = 0; h < hooks.size(); h++) {
                        values[h] = cache.get(hooks.get(h)).toFloatArray();
                    }
                }
                for (int b = 0; b < count; b++) {
                    for (int p = 0; p < length; p++) {
                        Group row = groups.newGroup().append("group", 0).append("chunk", start + b)
                                .append("document", (long) start + b).append("position", p)
                                .append("token", ids[b * length + p]);
                        for (int h = 0; h < hooks.size(); h++) {
                            int width = values[h].length / (count * length);
                            Group list = row.addGroup(h + 5);
                            int from = (b * length + p) * width;
                            for (int d = 0; d < width; d++) {
                                list.addGroup("list").append("element", values[h][from + d]);
                            }
                        }
                        writer.write(row);
                        rows++;
                    }
                }
            }
        }
        return rows;
    }
}
