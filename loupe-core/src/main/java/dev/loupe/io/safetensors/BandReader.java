package dev.loupe.io.safetensors;

import dev.loupe.numeric.Float16Narrowing;
import dev.loupe.numeric.Float16RangeException;
import dev.loupe.numeric.HalfFloats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Reads a stored tensor [batches·rows, cols] (BF16, F16 or F32) a band of rows at a time on a few threads,
 * converting it to float32 or float16 straight into the new array's memory: in file order, or
 * <em>transposed</em> into the layout [batches, cols, rows], each batch's [rows, cols] block transposed, the
 * layouts TransformerLens keeps Hugging Face's {@code nn.Linear} weights in ({@code W = weightᵀ};
 * {@code W_Q}, {@code W_K}, {@code W_V} per head; {@code W_O}).
 *
 * <p>Why: a matrix was written twice, converted in file order and then transposed by libtorch into fresh
 * memory (18 of the 36 s of a float32 Gemma-2-2B load), and every conversion ran on one thread although
 * most of a load is the kernel clearing fresh pages as they are first written, which threads share.
 *
 * <p>How: each band is read with a positional read and converted in file order, with the conversions (and,
 * to float16, the range checks in the same order) of the one-thread loads; then it is written whole, or,
 * transposed, column by column: a column of a band is a contiguous run of the result. The bands are split
 * among the threads, each taking a contiguous range; the float16 check of each thread is merged in file
 * order, so the array and any {@link Float16RangeException} are those of one thread reading in order.
 */
final class BandReader {
    /** The most elements a band holds (4 MB converted to float32), and the most rows. */
    static final int BAND_ELEMENTS = 1 << 20;
    static final int BAND_ROWS = 128;
    /** Below this many elements one thread reads the tensor: handing work over would cost more. */
    static final long PARALLEL_ELEMENTS = 1 << 20;
    /** Memory bandwidth, not cores, bounds the conversion beyond a few threads. */
    private static final int MAX_THREADS = 4;
    private static final int THREADS = Math.max(1, Math.min(MAX_THREADS, Runtime.getRuntime().availableProcessors()));
    private static final ExecutorService HELPERS = Executors.newFixedThreadPool(Math.max(1, THREADS - 1), r -> {
        Thread thread = new Thread(r, "loupe-weight-reader");
        thread.setDaemon(true);
        return thread;
    });

    /** Reads bytes at a position of the file, to the buffer's limit. */
    @FunctionalInterface
    interface PositionalReads {
        void readFully(long position, ByteBuffer target) throws IOException;
    }

    /**
     * One tensor to read: where it is, its layout, what it becomes ({@code half}: float16 checked by a
     * {@link Float16Narrowing} named {@code what}, else float32) and the array's memory, in parts of
     * {@code partElements} elements (the last may be shorter).
     */
    record Tensor(long position, SafetensorsDtype dtype, int batches, int rows, int cols, boolean transposed,
            boolean half, String what, ByteBuffer[] parts, long partElements) {}

    private final PositionalReads reads;
    /** Arrays of threads that finished a tensor, for the next (this reader lives as long as its file is open). */
    private final Queue<Scratch> spare = new ConcurrentLinkedQueue<>();
    private final int bandElements;
    private final int bandRows;
    private final int threads;
    private final long parallelElements;

    /** A reader with this machine's threads and the default bands. */
    BandReader(PositionalReads reads) {
        this(reads, BAND_ELEMENTS, BAND_ROWS, THREADS, PARALLEL_ELEMENTS);
    }

    /** A reader with the given band bounds and threads (tests use small ones, so that tensors cross many). */
    BandReader(PositionalReads reads, int bandElements, int bandRows, int threads, long parallelElements) {
        this.reads = reads;
        this.bandElements = bandElements;
        this.bandRows = bandRows;
        this.threads = threads;
        this.parallelElements = parallelElements;
    }

    /** Whether this reader converts {@code dtype}. */
    static boolean reads(SafetensorsDtype dtype) {
        return dtype == SafetensorsDtype.BF16 || dtype == SafetensorsDtype.F16 || dtype == SafetensorsDtype.F32;
    }

    /**
     * Reads {@code t} into its parts.
     *
     * @throws Float16RangeException if {@code t.half()} and float16 cannot hold the tensor
     */
    void read(Tensor t) throws IOException {
        int bandRowCount = Math.max(1, Math.min(bandRows, bandElements / Math.max(1, t.cols())));
        int bandsPerBatch = (t.rows() + bandRowCount - 1) / bandRowCount;
        int bands = t.batches() * bandsPerBatch;
        long elements = (long) t.batches() * t.rows() * t.cols();
        int workers = elements < parallelElements ? 1 : Math.min(threads, bands);
        List<Float16Narrowing> checks = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            checks.add(t.half() ? new Float16Narrowing(t.what()) : null);
            failures.add(null);
        }
        List<Future<?>> helpers = new ArrayList<>();
        for (int w = 1; w < workers; w++) {
            int worker = w;
            helpers.add(HELPERS.submit(() -> failures.set(worker, run(t, checks.get(worker),
                    bands * worker / workers, bands * (worker + 1) / workers, bandsPerBatch, bandRowCount))));
        }
        failures.set(0, run(t, checks.get(0), 0, bands / workers, bandsPerBatch, bandRowCount));
        for (Future<?> helper : helpers) {
            await(helper);
        }
        // The first failure in file order is the one a single thread would have met.
        for (Throwable failure : failures) {
            if (failure != null) {
                rethrow(failure);
            }
        }
        if (t.half()) {
            Float16Narrowing merged = checks.get(0);
            for (int w = 1; w < workers; w++) {
                merged.follow(checks.get(w));
            }
            merged.finish();
        }
    }

    private static void await(Future<?> helper) throws IOException {
        boolean interrupted = false;
        while (true) {
            try {
                helper.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the helper writes into the array: it must end before the array is used
            } catch (ExecutionException e) {
                rethrow(e.getCause());
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void rethrow(Throwable failure) throws IOException {
        if (failure instanceof IOException io) {
            throw io;
        }
        if (failure instanceof RuntimeException runtime) {
            throw runtime;
        }
        if (failure instanceof Error error) {
            throw error;
        }
        throw new IllegalStateException(failure);
    }

    /** Bands {@code first} to {@code end} (exclusive), in order; what went wrong, or null. */
    private Throwable run(Tensor t, Float16Narrowing check, int first, int end, int bandsPerBatch, int bandRowCount) {
        try {
            Scratch scratch = spare.poll();
            Band band = new Band(t, scratch == null ? new Scratch() : scratch, Math.min(bandRowCount, t.rows()) * t.cols());
            for (int k = first; k < end; k++) {
                int batch = k / bandsPerBatch;
                int firstRow = (k % bandsPerBatch) * bandRowCount;
                band.read(batch, firstRow, Math.min(bandRowCount, t.rows() - firstRow), check);
            }
            spare.add(band.scratch);
            return null;
        } catch (IOException | RuntimeException e) {
            return e;
        }
    }

    /**
     * One thread's arrays for a band, kept for the next tensor: made anew for each of a model's hundreds of
     * tensors they were gigabytes of garbage, which made the collector's young generation resident whole
     * (some 0.2 GB of a process whose weights fill the machine).
     */
    private static final class Scratch {
        private ByteBuffer bytes = ByteBuffer.allocate(0);
        private short[] shorts = new short[0];
        private short[] narrowed = new short[0];
        private float[] floats = new float[0];
        private short[] halfColumn = new short[0];
        private float[] floatColumn = new float[0];

        ByteBuffer bytes(int size) {
            if (bytes.capacity() < size) {
                bytes = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
            }
            return bytes;
        }

        short[] shorts(int size) {
            return shorts.length >= size ? shorts : (shorts = new short[size]);
        }

        short[] narrowed(int size) {
            return narrowed.length >= size ? narrowed : (narrowed = new short[size]);
        }

        float[] floats(int size) {
            return floats.length >= size ? floats : (floats = new float[size]);
        }

        short[] halfColumn(int size) {
            return halfColumn.length >= size ? halfColumn : (halfColumn = new short[size]);
        }

        float[] floatColumn(int size) {
            return floatColumn.length >= size ? floatColumn : (floatColumn = new float[size]);
        }
    }

    /** One thread's buffers: a band's bytes, its values in file order, one column of it, its views of the parts. */
    private final class Band {
        private final Tensor t;
        private final Scratch scratch;
        private final ByteBuffer bytes;
        private final short[] shorts;
        private final float[] floats;
        /** The band as float16 bits (apart from {@link #shorts}: a narrowing that meets a flush reads its input again). */
        private final short[] narrowed;
        private final short[] halfColumn;
        private final float[] floatColumn;
        private final FloatBuffer[] floatParts;
        private final ShortBuffer[] shortParts;

        Band(Tensor t, Scratch scratch, int elements) {
            this.t = t;
            this.scratch = scratch;
            this.bytes = scratch.bytes(elements * t.dtype().bytes);
            boolean shortInput = t.dtype() != SafetensorsDtype.F32;
            this.shorts = shortInput ? scratch.shorts(elements) : null;
            this.floats = !t.half() || !shortInput ? scratch.floats(elements) : null;
            this.narrowed = t.half() && t.dtype() != SafetensorsDtype.F16 ? scratch.narrowed(elements) : null;
            this.halfColumn = t.half() && t.transposed() ? scratch.halfColumn(t.rows()) : null;
            this.floatColumn = !t.half() && t.transposed() ? scratch.floatColumn(t.rows()) : null;
            // Each thread its own views: the bulk puts below are absolute, but views are cheap and surely safe.
            this.floatParts = t.half() ? null : new FloatBuffer[t.parts().length];
            this.shortParts = t.half() ? new ShortBuffer[t.parts().length] : null;
            for (int i = 0; i < t.parts().length; i++) {
                ByteBuffer part = t.parts()[i].duplicate().order(ByteOrder.LITTLE_ENDIAN).clear();
                if (t.half()) {
                    shortParts[i] = part.asShortBuffer();
                } else {
                    floatParts[i] = part.asFloatBuffer();
                }
            }
        }

        /** Reads rows {@code firstRow} to {@code firstRow + count} of {@code batch} and writes them. */
        void read(int batch, int firstRow, int count, Float16Narrowing check) throws IOException {
            int cols = t.cols();
            int elements = count * cols;
            long sourceRow = (long) batch * t.rows() + firstRow;
            bytes.clear().limit(elements * t.dtype().bytes);
            reads.readFully(t.position() + sourceRow * cols * t.dtype().bytes, bytes);
            bytes.flip();
            convert(elements, check);
            short[] halves = t.dtype() == SafetensorsDtype.F16 ? shorts : narrowed;
            if (!t.transposed()) {
                if (t.half()) {
                    put(sourceRow * cols, halves, elements);
                } else {
                    put(sourceRow * cols, floats, elements);
                }
                return;
            }
            long base = (long) batch * cols * t.rows() + firstRow; // element (batch, 0, firstRow) of the result
            if (t.half()) {
                for (int c = 0; c < cols; c++) {
                    for (int i = 0, at = c; i < count; i++, at += cols) {
                        halfColumn[i] = halves[at];
                    }
                    put(base + (long) c * t.rows(), halfColumn, count);
                }
            } else {
                for (int c = 0; c < cols; c++) {
                    for (int i = 0, at = c; i < count; i++, at += cols) {
                        floatColumn[i] = floats[at];
                    }
                    put(base + (long) c * t.rows(), floatColumn, count);
                }
            }
        }

        /** Writes {@code count} values at element {@code index} of the array, across parts where they end. */
        private void put(long index, float[] values, int count) {
            for (int done = 0; done < count; ) {
                long at = index + done;
                int part = (int) (at / t.partElements());
                int offset = (int) (at % t.partElements());
                int run = (int) Math.min(count - done, t.partElements() - offset);
                floatParts[part].put(offset, values, done, run);
                done += run;
            }
        }

        private void put(long index, short[] values, int count) {
            for (int done = 0; done < count; ) {
                long at = index + done;
                int part = (int) (at / t.partElements());
                int offset = (int) (at % t.partElements());
                int run = (int) Math.min(count - done, t.partElements() - offset);
                shortParts[part].put(offset, values, done, run);
                done += run;
            }
        }

        /** The band's values in file order: float32 into {@link #floats}, or float16 bits into {@link #narrowed}. */
        private void convert(int elements, Float16Narrowing check) {
            boolean brain = t.dtype() == SafetensorsDtype.BF16;
            if (t.dtype() == SafetensorsDtype.F32) {
                bytes.asFloatBuffer().get(floats, 0, elements);
                if (t.half()) {
                    for (int i = 0; i < elements; i++) {
                        narrowed[i] = check.narrow(floats[i]);
                    }
                }
                return;
            }
            bytes.asShortBuffer().get(shorts, 0, elements);
            if (!t.half()) {
                HalfFloats.widen(shorts, floats, elements, brain);
            } else if (brain) {
                check.narrowBfloat16(shorts, narrowed, elements);
            }
            // F16 kept as float16: the bits in shorts as they are, which need no check.
        }
    }
}
