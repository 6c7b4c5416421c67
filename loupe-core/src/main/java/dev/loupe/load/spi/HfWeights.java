package dev.loupe.load.spi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.loupe.CheckpointException;
import dev.loupe.io.WeightSource;
import dev.loupe.numeric.NativeHeap;
import dev.loupe.numeric.StateDict;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Reads Hugging Face tensors and turns them into TransformerLens's layouts. Hugging Face's
 * {@code nn.Linear} weights are [out, in]; TransformerLens multiplies on the right ({@code x @ W}),
 * so its matrices are [in, out] and split per head: {@code W_Q} [n_heads, d_model, d_head],
 * {@code W_O} [n_heads, d_head, d_model].
 *
 * <p>Matrices whose layout changes are read straight into it where the file can
 * ({@link WeightSource#loadTransposed}: safetensors BF16, F16 and F32), so each is written once. Otherwise
 * tensors read from the file stay open in the weights' manager for the model's lifetime where
 * converted tensors may be views of them (which may alias the memory-mapped file). Where the layout
 * change is certainly a copy (a transpose of a matrix with no dimension of size 1 is never
 * contiguous), the tensor read and the views made of it on the way are closed at once (they would
 * otherwise keep its memory, doubling the model's): a tied unembedding is the one view kept, of the
 * embedding itself.
 */
public final class HfWeights {
    private final WeightSource source;
    private final String prefix;
    private final NDManager manager;
    private final StateDict stateDict = new StateDict();

    /**
     * @param prefix the wrapper around every name ({@code model.}, {@code transformer.}), optional in the file
     */
    public HfWeights(WeightSource source, String prefix, NDManager manager) {
        this.source = source;
        this.prefix = prefix;
        this.manager = manager;
    }

    /** The state dict built so far, TransformerLens name to tensor. */
    public Map<String, NDArray> stateDict() {
        return stateDict;
    }

    public NDManager manager() {
        return manager;
    }

    /** Puts {@code value} under the TransformerLens name {@code name}. */
    public void put(String name, NDArray value) {
        stateDict.put(name, value);
    }

    /** Puts {@code stored × scale} under {@code name} without making it (see {@link StateDict#putScaled}). */
    public void putScaled(String name, NDArray stored, float scale) {
        stateDict.putScaled(name, stored, scale);
    }

    public boolean has(String hfName) {
        return source.contains(prefix, hfName);
    }

    /** A tensor as stored. */
    public NDArray raw(String hfName) {
        return source.load(prefix, hfName, manager);
    }

    /** An {@code nn.Linear} weight [out, in] as [in, out]. */
    public NDArray linear(String hfName) {
        long[] stored = source.shape(prefix, hfName);
        Optional<NDArray> direct = transposed(prefix, hfName, 1, stored.length == 2 ? new Shape(stored[1], stored[0]) : null);
        if (direct.isPresent()) {
            return direct.get();
        }
        NDArray raw = raw(hfName);
        return converted(raw, matrix(raw), this::linear);
    }

    /**
     * The matrix {@code hfName} read straight into its transposed layout ({@link WeightSource#loadTransposed},
     * [batches, cols, rows]) and viewed as {@code shape}; empty where the file does not read it so, or
     * {@code shape} is null (not a matrix).
     */
    private Optional<NDArray> transposed(String tensorPrefix, String hfName, int batches, Shape shape) {
        if (shape == null) {
            return Optional.empty();
        }
        return source.loadTransposed(tensorPrefix, hfName, batches, manager).map(read -> {
            // A view of the same contiguous memory: closing the handle read leaves the memory to the view.
            try (read) {
                return read.reshape(shape);
            }
        });
    }

    /** Whether {@code tensor} is a matrix without a dimension of size 1 (so its transpose is not contiguous). */
    private static boolean matrix(NDArray tensor) {
        Shape shape = tensor.getShape();
        return shape.dimension() == 2 && shape.get(0) > 1 && shape.get(1) > 1;
    }

    /**
     * {@code convert} of {@code raw}. Where the result is certainly a copy ({@code copies}), the
     * conversion runs in a scratch manager that is closed after it: {@code raw} and the views made of
     * it on the way (a transpose shares raw's memory and keeps it alive) would otherwise hold the memory
     * read from the file until the model is closed, doubling the model's memory.
     */
    private NDArray converted(NDArray raw, boolean copies, UnaryOperator<NDArray> convert) {
        if (!copies) {
            return convert.apply(raw);
        }
        try (NDManager scratch = manager.newSubManager()) {
            raw.attach(scratch);
            NDArray result = convert.apply(raw);
            result.attach(manager);
            return result;
        } finally {
            NativeHeap.trim(); // the scratch copies just freed, which the C heap would otherwise keep
        }
    }

    /** As {@link #linear(String)} for a tensor already read (or a slice of one). */
    public NDArray linear(NDArray weight) {
        return Tensors.contiguous(weight.transpose());
    }

    /**
     * The rows of a fused {@code nn.Linear} weight [sum(rows), in], cut in the order given:
     * {@code splitRows(w, 96, 32, 32)} gives rows 0–95, 96–127 and 128–159.
     */
    public static NDArray[] splitRows(NDArray weight, long... rows) {
        NDArray[] parts = new NDArray[rows.length];
        long start = 0;
        for (int i = 0; i < rows.length; i++) {
            parts[i] = weight.get(new NDIndex().addSliceDim(start, start + rows[i]));
            start += rows[i];
        }
        if (start != weight.getShape().get(0)) {
            throw new CheckpointException("A fused weight of shape " + weight.getShape() + " does not split into rows "
                    + Arrays.toString(rows));
        }
        return parts;
    }

    /** A projection into heads, weight [heads * d_head, d_model] → [heads, d_model, d_head]. */
    public NDArray intoHeads(String hfName, int heads, int dHead) {
        long[] stored = expect(hfName, source.shape(prefix, hfName), (long) heads * dHead, -1);
        Optional<NDArray> direct = transposed(prefix, hfName, heads, new Shape(heads, stored[1], dHead));
        if (direct.isPresent()) {
            return direct.get();
        }
        NDArray raw = expect(hfName, raw(hfName), (long) heads * dHead, -1);
        return converted(raw, dHead > 1 && matrix(raw), weight -> intoHeads(weight, heads, dHead));
    }

    /** As {@link #intoHeads(String, int, int)} for a tensor already read. */
    public NDArray intoHeads(NDArray weight, int heads, int dHead) {
        long dModel = weight.getShape().get(1);
        return Tensors.contiguous(weight.reshape(heads, dHead, dModel).transpose(0, 2, 1));
    }

    /** A projection out of heads, weight [d_model, heads * d_head] → [heads, d_head, d_model]. */
    public NDArray outOfHeads(String hfName, int heads, int dHead) {
        long[] stored = expect(hfName, source.shape(prefix, hfName), -1, (long) heads * dHead);
        Optional<NDArray> direct = transposed(prefix, hfName, 1, new Shape(heads, dHead, stored[0]));
        if (direct.isPresent()) {
            return direct.get();
        }
        NDArray weight = expect(hfName, raw(hfName), -1, (long) heads * dHead);
        long dModel = weight.getShape().get(0);
        return converted(weight, matrix(weight), w -> Tensors.contiguous(w.transpose().reshape(heads, dHead, dModel)));
    }

    /** A bias [heads * d_head] → [heads, d_head], or zeros if the checkpoint has none. */
    public NDArray headBias(String hfName, int heads, int dHead) {
        return has(hfName) ? expect(hfName, raw(hfName), (long) heads * dHead).reshape(heads, dHead) : zeros(heads, dHead);
    }

    /** A bias, or zeros of {@code size} if the checkpoint has none. */
    public NDArray biasOrZeros(String hfName, long size) {
        return has(hfName) ? raw(hfName) : zeros(size);
    }

    /**
     * {@code tensor}, refused unless its shape is {@code shape} ({@code -1}: any size in that dimension),
     * naming the tensor and both shapes.
     */
    public static NDArray expect(String name, NDArray tensor, long... shape) {
        expect(name, tensor.getShape().getShape(), shape);
        return tensor;
    }

    /** {@code stored}, the shape of a tensor in its file, refused as {@link #expect(String, NDArray, long...)} refuses. */
    static long[] expect(String name, long[] stored, long... shape) {
        boolean ok = stored.length == shape.length;
        for (int i = 0; ok && i < shape.length; i++) {
            ok = shape[i] < 0 || stored[i] == shape[i];
        }
        if (!ok) {
            throw new CheckpointException("Tensor " + name + " has shape " + new Shape(stored) + ", but config.json implies "
                    + Arrays.toString(shape).replace("-1", "any") + "; the config does not describe this checkpoint");
        }
        return stored;
    }

    public NDArray zeros(long... shape) {
        return manager.zeros(new Shape(shape));
    }

    /**
     * A fused query/key/value weight whose rows are grouped per head, (head, q|k|v, d_head) — GPT-NeoX's
     * and BLOOM's layout — split into TransformerLens's W_Q, W_K, W_V and their biases under {@code tl}.
     */
    public void putFusedPerHeadQkv(String tl, String weightName, String biasName, int heads, int dHead) {
        NDArray weight = expect(weightName, raw(weightName), 3L * heads * dHead, -1);
        long dModel = weight.getShape().get(1);
        NDArray grouped = weight.reshape(heads, 3, dHead, dModel);
        NDArray bias = expect(biasName, raw(biasName), 3L * heads * dHead).reshape(heads, 3, dHead);
        String[] names = {"Q", "K", "V"};
        for (int i = 0; i < 3; i++) {
            put(tl + "W_" + names[i], Tensors.contiguous(grouped.get(":, " + i).transpose(0, 2, 1)));
            put(tl + "b_" + names[i], Tensors.contiguous(bias.get(":, " + i)));
        }
    }

    /**
     * The unembedding as TransformerLens's {@code W_U} [d_model, d_vocab]: a copy of {@code lmHeadName}
     * transposed, or, where the checkpoint ties it to the embedding (has no such tensor), the transpose
     * of {@code embedding} as a view: one stored copy serves both, which for a 256,000-token vocabulary
     * saves a whole d_vocab × d_model matrix. Where they then diverge, a separate copy is correct and
     * is made: weight processing computes a new {@code W_U} (folding {@code ln_final} into it, centring
     * it). An adapter whose {@code W_E} is the stored embedding scaled (Gemma's, by √d_model) puts it
     * with {@link #putScaled}, so that the one stored copy still serves both.
     *
     * @param embedding the checkpoint's embedding [d_vocab, d_model] as read, which the caller keeps open
     */
    public NDArray unembedding(String lmHeadName, NDArray embedding) {
        String name = source.contains("", lmHeadName) ? lmHeadName : has(lmHeadName) ? prefix + lmHeadName : null;
        if (name == null) {
            return embedding.transpose();
        }
        long[] stored = source.shape("", name);
        Optional<NDArray> direct = transposed("", name, 1, stored.length == 2 ? new Shape(stored[1], stored[0]) : null);
        if (direct.isPresent()) {
            return direct.get();
        }
        NDArray raw = source.load("", name, manager);
        return converted(raw, matrix(raw), w -> Tensors.contiguous(w.transpose()));
    }
}
