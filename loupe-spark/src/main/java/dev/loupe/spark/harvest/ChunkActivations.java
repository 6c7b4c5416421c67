package dev.loupe.spark.harvest;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.RowArrays;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.regex.Pattern;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The forward passes of one partition: chunk rows sorted by group, batch and chunk in, one row per kept token out
 * ({@link HarvestSchema#tokens}). Chunks of one (group, batch) run as one forward pass, a batch at a time, so a
 * partition never holds more than one batch's activations.
 */
final class ChunkActivations implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final HarvestOptions options;
    private final List<String> hooks;

    ChunkActivations(HarvestOptions options, List<String> hooks) {
        this.options = options;
        this.hooks = List.copyOf(hooks);
    }

    @Override
    public Iterator<Row> call(Iterator<Row> chunks) {
        HookedTransformer model = ExecutorModels.get(options.model());
        Pattern exact = Pattern.compile(hooks.stream().map(Pattern::quote).reduce((a, b) -> a + "|" + b).orElseThrow());
        CacheOptions cache = CacheOptions.filtered(name -> exact.matcher(name).matches());
        return new Iterator<>() {
            private Row pending = chunks.hasNext() ? chunks.next() : null;
            private Iterator<Row> out = Collections.emptyIterator();

            @Override
            public boolean hasNext() {
                while (!out.hasNext() && pending != null) {
                    out = run(model, cache, nextBatch()).iterator();
                }
                return out.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return out.next();
            }

            private List<Row> nextBatch() {
                List<Row> batch = new ArrayList<>();
                Row first = pending;
                while (pending != null && pending.getInt(0) == first.getInt(0) && pending.getInt(2) == first.getInt(2)) {
                    batch.add(pending);
                    pending = chunks.hasNext() ? chunks.next() : null;
                }
                return batch;
            }
        };
    }

    private List<Row> run(HookedTransformer model, CacheOptions cacheOptions, List<Row> batch) {
        int size = options.chunkSize();
        long[] ids = new long[batch.size() * size];
        for (int b = 0; b < batch.size(); b++) {
            System.arraycopy(RowArrays.longs(batch.get(b), 3), 0, ids, b * size, size);
        }
        float[][] values = new float[hooks.size()][];
        int[] widths = new int[hooks.size()];
        try (NDManager manager = NDManager.newBaseManager();
                ActivationCache cache = model.runWithCache(manager.create(ids, new Shape(batch.size(), size)),
                        cacheOptions)) {
            for (int h = 0; h < hooks.size(); h++) {
                NDArray byToken = TokenActivations.byToken(hooks.get(h), cache.get(hooks.get(h)));
                values[h] = byToken.toFloatArray();
                widths[h] = (int) (values[h].length / ((long) batch.size() * size));
            }
        }
        List<Row> rows = new ArrayList<>(batch.size() * (options.toPosition() - options.fromPosition()));
        for (int b = 0; b < batch.size(); b++) {
            Row chunk = batch.get(b);
            long[] documents = RowArrays.longs(chunk, 4);
            for (int p = options.fromPosition(); p < options.toPosition(); p++) {
                Object[] row = new Object[HarvestSchema.firstHookColumn() + hooks.size()];
                row[0] = chunk.getInt(0);
                row[1] = chunk.getInt(1);
                row[2] = documents[p];
                row[3] = p;
                row[4] = ids[b * size + p];
                for (int h = 0; h < hooks.size(); h++) {
                    int from = (b * size + p) * widths[h];
                    row[HarvestSchema.firstHookColumn() + h] = Arrays.copyOfRange(values[h], from, from + widths[h]);
                }
                rows.add(RowFactory.create(row));
            }
        }
        return rows;
    }
}
