package dev.loupe.spark.cli;

import dev.loupe.LoupeException;
import dev.loupe.spark.ModelSpec;
import dev.loupe.spark.harvest.ActivationShards;
import dev.loupe.spark.harvest.Corpus;
import dev.loupe.spark.harvest.Harvest;
import dev.loupe.spark.harvest.HarvestOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe spark harvest}: a corpus's activations at the chosen hooks, as Parquet (and activation stores). */
@Command(name = "harvest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a model over a corpus with Spark and write one Parquet row per token: group, chunk,"
                + " document, position, token and one float array per hook (TransformerLens names).",
            "The corpus is tokenized and cut as `loupe lens train` cuts it (documents in groups of 2,048 joined by EOS,"
                + " the last chunk of each group dropped); chunk boundaries never depend on --partitions.",
            "--store-hook also writes that hook as an activation store (safetensors shards + manifest.json) that"
                + " `loupe sae train` and numpy read."},
        footer = {"", "Example:", "  loupe spark harvest --model testdata/models/gpt2-tok --data testdata/text/loupe.txt \\",
            "    --hooks 'blocks\\.1\\.hook_resid_post' --seq-len 16 --out harvest.parquet"})
final class HarvestCommand implements Callable<Integer> {
    @Mixin
    SparkOptions spark;

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "A model folder every node can read, or a Hugging Face id in each node's cache.")
    String model;

    @Option(names = "--no-processing", description = "Run the weights as they are (default: processed as"
            + " TransformerLens's from_pretrained, as `loupe cache`).")
    boolean noProcessing;

    @Option(names = "--data", required = true, arity = "1..*", paramLabel = "FILE",
            description = ".txt (one document), .jsonl (one per line) or .parquet (a text column) files, read on the"
                    + " executors (every node reads the same path).")
    List<Path> data;

    @Option(names = "--text-column", defaultValue = "text", paramLabel = "NAME", description = "Default: ${DEFAULT-VALUE}.")
    String textColumn;

    @Option(names = "--token-column", paramLabel = "NAME",
            description = "Read --data as Parquet of token ids instead of text: each row's NAME (an array of --seq-len"
                    + " integers) is one chunk and its own document, in file and row order.")
    String tokenColumn;

    @Option(names = "--hooks", required = true, paramLabel = "REGEX",
            description = "Hooks whose WHOLE name matches, e.g. 'blocks\\.\\d+\\.hook_resid_post'.")
    String hooks;

    @Option(names = "--seq-len", defaultValue = "128", paramLabel = "N",
            description = "Tokens per chunk (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "N",
            description = "Chunks per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--positions", paramLabel = "FROM:TO",
            description = "Keep positions FROM (inclusive) to TO (exclusive) only.")
    String positions;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Parquet folder to write (must not exist).")
    Path out;

    @Option(names = "--store-hook", paramLabel = "HOOK", description = "Also write this hook as an activation store.")
    String storeHook;

    @Option(names = "--store", paramLabel = "DIR", description = "The activation store's folder (default: OUT-store).")
    Path store;

    @Option(names = "--tokens-per-shard", defaultValue = "65536", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int tokensPerShard;

    @Override
    public Integer call() {
        HarvestOptions options = new HarvestOptions(new ModelSpec(model, !noProcessing), hooks, seqLen, batch,
                spark.partitions, 0, seqLen);
        if (positions != null) {
            String[] range = positions.split(":", 2);
            try {
                options = options.positions(Integer.parseInt(range[0].strip()), Integer.parseInt(range[1].strip()));
            } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                throw new LoupeException("--positions takes FROM:TO (two whole numbers, e.g. 1:128), got '" + positions
                        + "'");
            }
        }
        SparkSession session = spark.session("loupe spark harvest");
        Harvest.writeParquet(tokenColumn != null
                ? Harvest.harvestTokens(session, tokenTable(session), tokenColumn, options)
                : Harvest.harvest(session, Corpus.read(session, data, textColumn, spark.partitions), options), out);
        System.out.println("loupe: wrote " + out);
        if (storeHook != null) {
            Path dir = store != null ? store : Path.of(out + "-store");
            var manifest = ActivationShards.write(session.read().parquet(out.toString()), storeHook, dir, tokensPerShard);
            System.out.println("loupe: wrote " + dir + " (" + manifest.totalTokens() + " tokens of " + storeHook + ")");
        }
        return 0;
    }

    private Dataset<Row> tokenTable(SparkSession session) {
        for (Path file : data) {
            if (!Files.exists(file)) {
                throw new LoupeException("--data " + file + " does not exist; --token-column reads Parquet files or folders");
            }
        }
        return session.read().parquet(data.stream().map(Path::toString).toArray(String[]::new));
    }
}
