package dev.loupe.cli.command;

import dev.loupe.lens.Lens;
import dev.loupe.lens.LensBasis;
import dev.loupe.lens.LogitLens;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;

/**
 * The {@code --lens logit|DIR} value of the lens commands that run either lens: the logit lens, or
 * the tuned lens in folder DIR.
 *
 * @param dir the tuned lens's folder, or null for the logit lens
 */
record LensChoice(Path dir) {
    /** The word that picks the logit lens. */
    static final String LOGIT = "logit";

    static LensChoice parse(String value) {
        return new LensChoice(LOGIT.equals(value) ? null : Path.of(value));
    }

    boolean isLogit() {
        return dir == null;
    }

    /** The basis to load the model in: the tuned lens's, or Hugging Face's for the logit lens. */
    LensBasis basis() {
        return LensCommand.basis(dir);
    }

    /** The lens on {@code model}; a tuned lens owns its parameters, so close it ({@link #close(Lens)}). */
    Lens open(HookedTransformer model) {
        return isLogit() ? LogitLens.of(model) : TunedLens.load(dir, model);
    }

    /** Frees a tuned lens's parameters; the logit lens owns nothing. */
    static void close(Lens lens) {
        if (lens instanceof TunedLens tuned) {
            tuned.close();
        }
    }

    /** For messages: "the logit lens" or "the tuned lens in DIR". */
    String describe() {
        return isLogit() ? "the logit lens" : "the tuned lens in " + dir;
    }
}
