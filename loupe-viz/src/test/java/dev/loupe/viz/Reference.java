package dev.loupe.viz;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;

/** Hugging Face's outputs for gpt2-tok on the default sentence (prompt p1 of its reference file). */
final class Reference {
    static final Path FILE = Fixtures.model("gpt2-tok").resolve("reference.safetensors");
    static final int VOCAB = 50257;
    static final int D_MODEL = 32;

    private Reference() {}

    static float[] floats(String name) {
        try (SafetensorsFile in = SafetensorsFile.open(FILE); NDManager manager = NDManager.newBaseManager()) {
            return in.load(name, manager).toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    static long[] longs(String name) {
        try (SafetensorsFile in = SafetensorsFile.open(FILE); NDManager manager = NDManager.newBaseManager()) {
            return in.load(name, manager).toLongArray();
        }
    }

    /** log-softmax in double precision. */
    static double[] logSoftmax(double[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (double v : logits) {
            sum += Math.exp(v - max);
        }
        double log = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = logits[i] - log;
        }
        return out;
    }

    static int argmax(double[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
