package dev.loupe.spark.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.LoupeException;
import dev.loupe.spark.stats.CorpusMoments;
import dev.loupe.spark.stats.MeanActivations;
import dev.loupe.spark.stats.Moments;
import dev.loupe.spark.stats.NeuronContext;
import dev.loupe.spark.stats.TopContexts;
import dev.loupe.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe spark stats}: moments, means and top contexts of a harvest. */
@Command(name = "stats", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Corpus statistics of a harvest (`loupe spark harvest`'s Parquet), as Spark aggregations:",
            "OUT/moments.json: per hook and dimension count, mean, variance (population), min and max;",
            "OUT/means.safetensors: each hook's mean [width] (for mean-ablation);",
            "with --contexts-hook: OUT/contexts.json (each neuron's top-k tokens with the tokens around them) and"
                + " OUT/contexts.html (the first --show neurons, viewable in a browser; needs --model for the tokens)."})
final class StatsCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Mixin
    SparkOptions spark;

    @Option(names = "--harvest", required = true, paramLabel = "PARQUET", description = "A harvest's Parquet folder.")
    Path harvest;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the results.")
    Path out;

    @Option(names = "--contexts-hook", paramLabel = "HOOK", description = "Find the top contexts of this hook's neurons.")
    String contextsHook;

    @Option(names = "--top-k", defaultValue = "10", paramLabel = "K", description = "Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--window", defaultValue = "5", paramLabel = "W",
            description = "Tokens each side (default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--show", defaultValue = "20", paramLabel = "N",
            description = "Neurons in contexts.html (default: ${DEFAULT-VALUE}).")
    int show;

    @Option(names = "--model", paramLabel = "MODEL",
            description = "The harvested model's folder (its tokenizer labels contexts.html).")
    String model;

    @Override
    public Integer call() throws IOException {
        if (!Files.isDirectory(harvest)) {
            throw new LoupeException("--harvest " + harvest + " is not a folder; give the Parquet folder `loupe spark"
                    + " harvest --out` wrote");
        }
        Files.createDirectories(out);
        SparkSession session = spark.session("loupe spark stats");
        Dataset<Row> rows = session.read().parquet(harvest.toString());
        Map<String, Moments> moments = CorpusMoments.of(rows);
        Map<String, Object> json = new LinkedHashMap<>();
        moments.forEach((hook, m) -> json.put(hook, Map.of("count", m.count(), "mean", m.mean(), "variance",
                m.variance(), "min", m.min(), "max", m.max())));
        AtomicFiles.writeString(out.resolve("moments.json"), JSON.writeValueAsString(json));
        MeanActivations.write(moments, out.resolve("means.safetensors"));
        System.out.println("loupe: wrote " + out.resolve("moments.json") + " and " + out.resolve("means.safetensors"));
        if (contextsHook != null) {
            List<List<NeuronContext>> top = TopContexts.of(rows, contextsHook, topK, window);
            List<Object> neurons = new ArrayList<>();
            for (List<NeuronContext> contexts : top) {
                neurons.add(contexts.stream().map(c -> Map.of("group", c.group(), "chunk", c.chunk(), "position",
                        c.position(), "value", c.value(), "tokens", c.tokens(), "values", c.values(), "peak", c.peak()))
                        .toList());
            }
            AtomicFiles.writeString(out.resolve("contexts.json"), JSON.writeValueAsString(Map.of("hook", contextsHook,
                    "neurons", neurons)));
            if (model != null) {
                try (Tokenizer tokenizer = Tokenizer.fromModelDir(Path.of(model))) {
                    TopContexts.report("Top contexts of " + contextsHook, top,
                            IntStream.range(0, Math.min(show, top.size())).boxed().toList(), tokenizer)
                            .write(out.resolve("contexts.html"));
                }
            }
            System.out.println("loupe: wrote the top " + topK + " contexts of " + top.size() + " neurons to " + out);
        }
        return 0;
    }
}
