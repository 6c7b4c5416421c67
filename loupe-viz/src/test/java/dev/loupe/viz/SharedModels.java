package dev.loupe.viz;

import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;

/**
 * The unprocessed {@code gpt2-tok} fixture, loaded once for all of this module's tests rather than once per test:
 * reading its 50257-token tokenizer alone takes about 0.2 s of CPU. The tests that share it only read it (no hooks
 * added, no weights changed), and never close it; the JVM's exit frees it.
 */
final class SharedModels {
    private static HookedTransformer gpt2Tok;

    private SharedModels() {}

    /** {@code testdata/models/gpt2-tok} as {@code fromPretrainedNoProcessing} loads it; read it, never change it. */
    static synchronized HookedTransformer gpt2Tok() {
        if (gpt2Tok == null) {
            gpt2Tok = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        }
        return gpt2Tok;
    }
}
