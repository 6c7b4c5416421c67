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

/** What the Spark lens commands share: the model in Hugging Face's basis, the lens check and the chunks. */
final class LensData {
    private LensData() {}

    /**
     * The model as the lens commands load it: unprocessed (Hugging Face's residual stream, which the Python library's
     * lenses read). A lens trained on processed weights is refused.
     */
    static ModelSpec model(String model, Path lens) {
        if (lens != null && !TunedLensFiles.readConfig(lens).basis().isHuggingFace()) {
            throw new LoupeException("The lens in " + lens + " was trained on processed weights; the --spark commands"
                    + " read Hugging Face's residual stream only: evaluate it without --spark");
        }
        return new ModelSpec(model, false);
    }

    /** The corpus cut into sequences of {@code min(maxSeqLen, n_ctx)} tokens, on the driver, as the plain command does. */
    static TokenChunks chunks(SparkSession spark, ModelSpec model, List<Path> data, String textColumn, int maxSeqLen) {
        HookedTransformer transformer = ExecutorModels.get(model);
        int length = Math.min(maxSeqLen, transformer.config().nCtx());
        return TokenChunks.of(Corpus.documents(spark, data, textColumn), transformer.tokenizer(), length);
    }
}
