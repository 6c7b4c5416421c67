package dev.loupe.sae.format;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import java.io.IOException;

/**
 * The separators of Python's {@code json.dump} with its defaults ({@code ", "} between items, {@code ": "} after
 * a key, one line), so that a {@code cfg.json} Loupe writes has the bytes SAELens's {@code save_model} writes
 * for the same values (together with escaping non-ASCII characters, as {@code ensure_ascii} does). Floats are
 * the exception: Java prints {@code 1.0E-5} where Python prints {@code 1e-05} (the same number).
 */
final class PythonJsonStyle extends MinimalPrettyPrinter {
    private static final long serialVersionUID = 1L;

    @Override
    public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
        g.writeRaw(": ");
    }

    @Override
    public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
        g.writeRaw(", ");
    }

    @Override
    public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
        g.writeRaw(", ");
    }
}
