package dev.loupe.spark.stats;

import static org.apache.spark.sql.functions.col;

import dev.loupe.LoupeException;
import dev.loupe.spark.RowArrays;
import dev.loupe.spark.harvest.HarvestSchema;
import dev.loupe.tokenize.Tokenizer;
import dev.loupe.viz.ColorScale;
import dev.loupe.viz.HtmlReport;
import dev.loupe.viz.TokenContexts;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import scala.Tuple2;

/**
 * The top-k activating tokens of every neuron of a hook over harvested rows, with the tokens around each. Two passes:
 * a tree aggregation of bounded heaps finds the tokens; a second pass over the rows of the chunks they are in
 * gathers the windows, so the driver receives k·width windows, never the activations. Give the harvest's Parquet (or
 * a cached harvest): each pass reads the rows.
 */
public final class TopContexts {
    private TopContexts() {}

    /** For each neuron of {@code hook} (index = dimension), its {@code k} best tokens, best first, ± {@code window}. */
    public static List<List<NeuronContext>> of(Dataset<Row> harvested, String hook, int k, int window) {
        if (k <= 0 || window < 0) {
            throw new LoupeException("Top contexts need k > 0 and a window >= 0, got " + k + " and " + window);
        }
        if (!List.of(harvested.columns()).contains(hook)) {
            throw new LoupeException("The rows have no hook " + hook + "; they have " + List.of(harvested.columns()));
        }
        Dataset<Row> rows = harvested.select(col(HarvestSchema.GROUP), col(HarvestSchema.CHUNK), col(HarvestSchema.POSITION),
                col(HarvestSchema.TOKEN), col("`" + hook + "`"));
        TopK found = rows.javaRDD().treeAggregate(new TopK(k),
                (top, row) -> top.add(RowArrays.floats(row, 4), row.getInt(0), row.getInt(1), row.getInt(2)), TopK::merge);
        List<List<TopEntry>> best = found.best();
        // Each window: which chunk, which dimension, which positions; found by id in the second pass.
        Map<Long, List<int[]>> windowsByChunk = new HashMap<>();
        List<int[]> windows = new ArrayList<>();
        for (int d = 0; d < best.size(); d++) {
            for (TopEntry entry : best.get(d)) {
                int[] w = {windows.size(), d, entry.position() - window, entry.position() + window};
                windows.add(w);
                windowsByChunk.computeIfAbsent(chunkKey(entry.group(), entry.chunk()), c -> new ArrayList<>()).add(w);
            }
        }
        Broadcast<Map<Long, List<int[]>>> lookup = JavaSparkContext.fromSparkContext(harvested.sparkSession().sparkContext())
                .broadcast(windowsByChunk);
        List<Tuple2<int[], Tuple2<Long, Float>>> tokens = rows.javaRDD().flatMap(row -> {
            List<Tuple2<int[], Tuple2<Long, Float>>> out = new ArrayList<>();
            for (int[] w : lookup.value().getOrDefault(chunkKey(row.getInt(0), row.getInt(1)), List.of())) {
                int position = row.getInt(2);
                if (position >= w[2] && position <= w[3]) {
                    float value = RowArrays.floats(row, 4)[w[1]];
                    out.add(new Tuple2<>(new int[] {w[0], position}, new Tuple2<>(row.getLong(3), value)));
                }
            }
            return out.iterator();
        }).collect();
        lookup.destroy();
        return assemble(hook, best, windows, tokens);
    }

    /**
     * The {@code k} tokens whose {@code hook} values project most on {@code direction} [width] (a probe's weight, an
     * SAE feature's encoder row, …), best first, ± {@code window}: {@link #of} on the one-column projection.
     */
    public static List<NeuronContext> alongDirection(Dataset<Row> harvested, String hook, float[] direction, int k,
            int window) {
        if (!List.of(harvested.columns()).contains(hook)) {
            throw new LoupeException("The rows have no hook " + hook + "; they have " + List.of(harvested.columns()));
        }
        String name = hook + "·direction";
        Dataset<Row> projected = harvested.select(col(HarvestSchema.GROUP), col(HarvestSchema.CHUNK),
                col(HarvestSchema.DOCUMENT), col(HarvestSchema.POSITION), col(HarvestSchema.TOKEN), col("`" + hook + "`"))
                .map((MapFunction<Row, Row>) row -> {
                    float[] values = RowArrays.floats(row, 5);
                    if (values.length != direction.length) {
                        throw new LoupeException("The direction has " + direction.length + " values but " + hook
                                + " has " + values.length + "; give a direction of the hook's width");
                    }
                    double dot = 0;
                    for (int d = 0; d < values.length; d++) {
                        dot += (double) values[d] * direction[d];
                    }
                    return RowFactory.create(row.get(0), row.get(1), row.get(2), row.get(3), row.get(4),
                            new float[] {(float) dot});
                }, Encoders.row(HarvestSchema.tokens(List.of(name))));
        return of(projected, name, k, window).get(0);
    }

    /** A page of each listed neuron's contexts, as loupe-viz shows a feature's (one row per context). */
    public static HtmlReport report(String title, List<List<NeuronContext>> neurons, List<Integer> dims, Tokenizer tokenizer) {
        HtmlReport report = HtmlReport.titled(title);
        for (int dim : dims) {
            List<TokenContexts.Row> rows = new ArrayList<>();
            float largest = 0;
            for (NeuronContext context : neurons.get(dim)) {
                List<String> labels = new ArrayList<>();
                for (long id : context.tokens()) {
                    labels.add(tokenizer.decodeToken(id));
                }
                rows.add(new TokenContexts.Row("group " + context.group() + ", chunk " + context.chunk() + ", position "
                        + context.position(), labels, context.values(), context.peak()));
                for (float v : context.values()) {
                    largest = Math.max(largest, Math.abs(v));
                }
            }
            report.contexts(new TokenContexts("neuron " + dim, rows, "activation",
                    ColorScale.redBlue(largest > 0 ? largest : 1)));
        }
        return report;
    }

    private static List<List<NeuronContext>> assemble(String hook, List<List<TopEntry>> best, List<int[]> windows,
            List<Tuple2<int[], Tuple2<Long, Float>>> tokens) {
        Map<Integer, Map<Integer, Tuple2<Long, Float>>> byWindow = new HashMap<>();
        for (Tuple2<int[], Tuple2<Long, Float>> t : tokens) {
            byWindow.computeIfAbsent(t._1()[0], w -> new java.util.TreeMap<>()).put(t._1()[1], t._2());
        }
        List<List<NeuronContext>> out = new ArrayList<>();
        int id = 0;
        for (int d = 0; d < best.size(); d++) {
            List<NeuronContext> contexts = new ArrayList<>();
            for (int rank = 0; rank < best.get(d).size(); rank++) {
                TopEntry entry = best.get(d).get(rank);
                Map<Integer, Tuple2<Long, Float>> positions = byWindow.get(windows.get(id++)[0]);
                long[] ids = new long[positions.size()];
                float[] values = new float[positions.size()];
                int peak = 0;
                int i = 0;
                for (Map.Entry<Integer, Tuple2<Long, Float>> p : positions.entrySet()) {
                    if (p.getKey() == entry.position()) {
                        peak = i;
                    }
                    ids[i] = p.getValue()._1();
                    values[i++] = p.getValue()._2();
                }
                contexts.add(new NeuronContext(hook, d, rank, entry.group(), entry.chunk(), entry.position(), ids, values,
                        peak));
            }
            out.add(contexts);
        }
        return out;
    }

    private static long chunkKey(int group, int chunk) {
        return ((long) group << 32) | chunk;
    }
}
