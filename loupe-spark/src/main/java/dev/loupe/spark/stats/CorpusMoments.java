package dev.loupe.spark.stats;

import dev.loupe.LoupeException;
import dev.loupe.spark.RowArrays;
import dev.loupe.spark.harvest.HarvestSchema;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The {@link Moments} of every hook of harvested rows, by one tree aggregation: each partition folds its tokens into
 * one {@code Moments} per hook, and partial results merge up a tree, so the driver receives a few of them, never the
 * activations.
 */
public final class CorpusMoments {
    private CorpusMoments() {}

    /** Each hook column of {@code harvested} (after the five token columns) with its moments, in column order. */
    public static Map<String, Moments> of(Dataset<Row> harvested) {
        List<String> columns = List.of(harvested.columns());
        if (columns.size() <= HarvestSchema.firstHookColumn()) {
            throw new LoupeException("The rows have no hook columns (they have " + columns + "); harvest some hooks");
        }
        List<String> hooks = columns.subList(HarvestSchema.firstHookColumn(), columns.size());
        Partial total = harvested.javaRDD().treeAggregate(new Partial(hooks.size()), Partial::add, Partial::merge);
        Map<String, Moments> out = new LinkedHashMap<>();
        for (int h = 0; h < hooks.size(); h++) {
            if (total.moments[h] == null) {
                throw new LoupeException("The rows are empty, so there are no statistics; harvest a larger corpus");
            }
            out.put(hooks.get(h), total.moments[h]);
        }
        return out;
    }

    /** One partition's moments, a hook at a time (created at the first token, when the width is known). */
    private static final class Partial implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Moments[] moments;

        Partial(int hooks) {
            moments = new Moments[hooks];
        }

        Partial add(Row row) {
            for (int h = 0; h < moments.length; h++) {
                float[] values = RowArrays.floats(row, HarvestSchema.firstHookColumn() + h);
                if (moments[h] == null) {
                    moments[h] = new Moments(values.length);
                }
                moments[h].add(values);
            }
            return this;
        }

        Partial merge(Partial other) {
            for (int h = 0; h < moments.length; h++) {
                if (moments[h] == null) {
                    moments[h] = other.moments[h];
                } else if (other.moments[h] != null) {
                    moments[h].merge(other.moments[h]);
                }
            }
            return this;
        }
    }
}
