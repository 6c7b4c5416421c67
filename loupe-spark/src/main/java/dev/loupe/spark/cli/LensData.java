package dev.loupe.spark.cli;

import dev.loupe.LoupeException;
import dev.loupe.lens.TunedLensFiles;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.ModelSpec;
import dev.loupe.spark.harvest.Corpus;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/**
 * What the Spark lens commands share, as a picocli mixin ({@code @Mixin LensData input;}): their {@code --spark},
 * {@code --model}, {@code --data} and {@code --text-column} options, the model in Hugging Face's basis with the
 * lens check, and the chunks.
 */
final class LensData {
    @Option(names = "--spark", required = true, description = "Run on Spark (this command exists only with it).")
    boolean onSpark;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "A model folder every node reads.")
    String model;

    @Option(names = "--data", required = true, arity = "1..*", paramLabel = "FILE", description = ".txt, .jsonl or .parquet.")
    List<Path> data;

    @Option(names = "--text-column", defaultValue = "text", paramLabel = "NAME", description = "Default: ${DEFAULT-VALUE}.")
    String textColumn;

    /**
     * The model as the lens commands load it: unprocessed (Hugging Face's residual stream, which the Python library's
     * lenses read). A lens trained on processed weights is refused.
     */
    ModelSpec model(Path lens) {
        if (lens != null && !TunedLensFiles.readConfig(lens).basis().isHuggingFace()) {
            throw new LoupeException("The lens in " + lens + " was trained on processed weights; the --spark commands"
                    + " read Hugging Face's residual stream only: evaluate it without --spark");
        }
        return new ModelSpec(model, false);
    }

    /** The corpus cut into sequences of {@code min(maxSeqLen, n_ctx)} tokens, on the driver, as the plain command does. */
    TokenChunks chunks(SparkSession spark, ModelSpec spec, int maxSeqLen) {
        HookedTransformer transformer = ExecutorModels.get(spec);
        int length = Math.min(maxSeqLen, transformer.config().nCtx());
        return TokenChunks.of(Corpus.documents(spark, data, textColumn), transformer.tokenizer(), length);
    }
}
