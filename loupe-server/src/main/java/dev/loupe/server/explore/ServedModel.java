package dev.loupe.server.explore;

import dev.loupe.LoupeException;
import dev.loupe.lens.LensBasis;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.TunedLensFiles;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenDisplay;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * A model the explorer serves, under a name, with its tuned lens if one was given. The model is
 * shared by every request: {@link HookedTransformer} keeps the hooks given to a run to that run, so
 * runs share the model ({@link #shared}); only generation, whose hooks are scoped to the whole model
 * ({@code model.hooks(...)}), runs alone while it has interventions ({@link #exclusive}).
 */
public final class ServedModel implements AutoCloseable {
    private final String name;
    private final HookedTransformer model;
    private final TunedLens tunedLens;
    // Fair, so that a generation with interventions is not starved by a stream of plain runs.
    private final ReadWriteLock runs = new ReentrantReadWriteLock(true);

    /**
     * @param name the name requests use ({@code "model": "induction-2l"})
     * @param tunedLens its tuned lens, or null
     */
    public ServedModel(String name, HookedTransformer model, TunedLens tunedLens) {
        this.name = name;
        this.model = model;
        this.tunedLens = tunedLens;
    }

    /**
     * Loads a model folder (weights processed as TransformerLens processes them, or in the basis the
     * lens was trained in) and its tuned lens, named after the folder.
     *
     * @param lensDir a tuned-lens folder (config.json + params), or null
     */
    public static ServedModel load(Path folder, Path lensDir) {
        if (!Files.isDirectory(folder)) {
            throw new LoupeException("No model folder at " + folder + "; give --model a folder holding config.json"
                    + " and the weights (models/induction-2l, say)");
        }
        HookedTransformer model;
        TunedLens lens = null;
        if (lensDir == null) {
            model = HookedTransformer.fromPretrained(folder);
        } else {
            LensBasis basis = TunedLensFiles.readConfig(lensDir).basis();
            model = basis.isHuggingFace() ? HookedTransformer.fromPretrainedNoProcessing(folder)
                    : HookedTransformer.fromPretrained(folder, basis.processOptions());
            lens = TunedLens.load(lensDir, model);
        }
        Path file = folder.toAbsolutePath().normalize().getFileName();
        return new ServedModel(file == null ? "model" : file.toString(), model, lens);
    }

    /** The name requests use. */
    public String name() {
        return name;
    }

    /** The model. */
    public HookedTransformer model() {
        return model;
    }

    /** Its tuned lens, or null. */
    public TunedLens tunedLens() {
        return tunedLens;
    }

    /** Computes {@code work} beside other runs of this model (its hooks given to its own runs only). */
    public <T> T shared(Supplier<T> work) {
        runs.readLock().lock();
        try {
            return work.get();
        } finally {
            runs.readLock().unlock();
        }
    }

    /** Computes {@code work} while no other run of this model runs (for hooks scoped to the whole model). */
    public <T> T exclusive(Supplier<T> work) {
        runs.writeLock().lock();
        try {
            return work.get();
        } finally {
            runs.writeLock().unlock();
        }
    }

    /** Each token id as the page shows it ({@code ␣} for a space, {@code #id} without a tokenizer). */
    public List<String> labels(long[] ids) {
        return TokenDisplay.labels(model.hasTokenizer() ? model.tokenizer() : null, ids);
    }

    /** What the model list says of this model. */
    public ModelInfo info() {
        var c = model.config();
        return new ModelInfo(name, c.nLayers(), c.nHeads(), c.dModel(), c.dVocab(), c.nCtx(), model.hasTokenizer(),
                tunedLens != null, !c.attnOnly());
    }

    @Override
    public void close() {
        if (tunedLens != null) {
            tunedLens.close();
        }
        model.close();
    }
}
