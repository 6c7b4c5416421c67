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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Reads a stored matrix {@code [batches·rows, cols]} (BF16, F16 or F32) straight into the layout
 * {@code [batches, cols, rows]}, each batch's {@code [rows, cols]} block transposed, converting to
 * float32 or float16 on the way: the layouts TransformerLens keeps Hugging Face's {@code nn.Linear} weights
 * in ({@code W = weightᵀ}; {@code W_Q}, {@code W_K}, {@code W_V} per head; {@code W_O}).
 *
 * <p>Why: otherwise a matrix is written twice, converted in file order and then transposed by libtorch
 * into fresh memory, and that transposed copy was half of a float32 Gemma-2-2B load (18 of 36 s).
 *
 * <p>How: the rows are read a band at a time with positional reads and converted in file order, with the
 * conversions (and, to float16, the range checks in the same order) of the file-order loads; then each
 * column of the band, a contiguous run of the result, is written in one bulk put. The bands are split among
 * a few threads, each with a contiguous range of them; a float16 check per thread is merged in file order,
 * so the result and any {@link Float16RangeException} are those of one thread reading every band in order.
 */
final class TransposedReader {
    /** The most elements a band holds (4 MB converted to float32), and the most rows. */
    static final int BAND_ELEMENTS = 1 << 20;
    static final int BAND_ROWS = 128;
    /** Below this many elements one thread reads the matrix: handing work over would cost more. */
    static final long PARALLEL_ELEMENTS = 1 << 20;
    /** Memory bandwidth, not cores, bounds the conversion beyond a few threads. */
    private static final int MAX_THREADS = 4;
    private static final int THREADS = Math.max(1, Math.min(MAX_THREADS, Runtime.getRuntime().availableProcessors()));
    private static final ExecutorService HELPERS = THREADS == 1 ? null : Executors.newFixedThreadPool(THREADS - 1, r -> {
        Thread thread = new Thread(r, "loupe-weight-reader");
        thread.setDaemon(true);
        return thread;
    });

    /** Reads bytes at a position of the file, to the buffer's limit. */
    @FunctionalInterface
    interface PositionalReads {
        void readFully(long position, ByteBuffer target) throws IOException;
    }

    private final PositionalReads reads;
    private final int bandElements;
    private final int bandRows;
    private final int threads;
    private final long parallelElements;

    /** A reader with this machine's threads and the default bands. */
    TransposedReader(PositionalReads reads) {
        this(reads, BAND_ELEMENTS, BAND_ROWS, THREADS, PARALLEL_ELEMENTS);
    }

    /** A reader with the given band bounds and threads (tests use small ones, so that matrices cross many). */
    TransposedReader(PositionalReads reads, int bandElements, int bandRows, int threads, long parallelElements) {
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
     * The matrix stored at {@code position} with shape [{@code batches}·{@code rows}, {@code cols}] as
     * [batches, cols, rows], written into {@code target} (float32 when {@code half} is false, else float16
     * checked by a {@link Float16Narrowing} named {@code what}).
     *
     * @throws Float16RangeException if {@code half} and float16 cannot hold the matrix
     */
    void read(long position, SafetensorsDtype dtype, int batches, int rows, int cols, boolean half, String what,
            ByteBuffer target) throws IOException {
        Matrix matrix = new Matrix(position, dtype, rows, cols, half, what, target.order(ByteOrder.LITTLE_ENDIAN));
        int bandRowCount = Math.max(1, Math.min(bandRows, bandElements / Math.max(1, cols)));
        int bandsPerBatch = (rows + bandRowCount - 1) / bandRowCount;
        int bands = batches * bandsPerBatch;
        long elements = (long) batches * rows * cols;
        int workers = elements < parallelElements ? 1 : Math.min(threads, bands);
        List<Float16Narrowing> checks = new ArrayList<>();
        List<Future<?>> helpers = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            checks.add(half ? new Float16Narrowing(what) : null);
            failures.add(null);
        }
        for (int w = 1; w < workers; w++) {
            int worker = w;
            helpers.add(HELPERS.submit(() -> failures.set(worker, run(matrix, checks.get(worker),
                    bands * worker / workers, bands * (worker + 1) / workers, bandsPerBatch, bandRowCount))));
        }
        failures.set(0, run(matrix, checks.get(0), 0, bands / workers, bandsPerBatch, bandRowCount));
        for (Future<?> helper : helpers) {
            await(helper);
        }
        // The first failure in file order is the one a single thread would have met.
        for (Throwable failure : failures) {
            if (failure != null) {
                rethrow(failure);
            }
        }
        if (half) {
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
    private Throwable run(Matrix m, Float16Narrowing check, int first, int end, int bandsPerBatch, int bandRowCount) {
        try {
            Band band = new Band(m, Math.min(bandRowCount, m.rows) * m.cols);
            for (int k = first; k < end; k++) {
                int batch = k / bandsPerBatch;
                int firstRow = (k % bandsPerBatch) * bandRowCount;
                int count = Math.min(bandRowCount, m.rows - firstRow);
                band.read(batch, firstRow, count, check);
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return e;
        }
    }

    /** One matrix being read: where it is, what it becomes, where it goes. */
    private record Matrix(long position, SafetensorsDtype dtype, int rows, int cols, boolean half, String what,
            ByteBuffer target) {}

    /** One thread's buffers: a band's bytes, its values in file order, and one column of it. */
    private final class Band {
        private final Matrix m;
        private final ByteBuffer bytes;
        private final short[] shorts;
        private final float[] floats;
        /** The band as float16 bits (apart from {@link #shorts}: a narrowing that meets a flush reads its input again). */
        private final short[] narrowed;
        private final short[] halfColumn;
        private final float[] floatColumn;
        private final FloatBuffer floatTarget;
        private final ShortBuffer shortTarget;

        Band(Matrix m, int elements) {
            this.m = m;
            this.bytes = ByteBuffer.allocate(elements * m.dtype.bytes).order(ByteOrder.LITTLE_ENDIAN);
            boolean shortInput = m.dtype != SafetensorsDtype.F32;
            this.shorts = shortInput ? new short[elements] : null;
            this.floats = !m.half || !shortInput ? new float[elements] : null;
            this.narrowed = m.half && m.dtype != SafetensorsDtype.F16 ? new short[elements] : null;
            this.halfColumn = m.half ? new short[m.rows] : null;
            this.floatColumn = m.half ? null : new float[m.rows];
            // Each thread its own view: the bulk puts below are absolute, but a view is cheap and safe.
            ByteBuffer target = m.target.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            this.floatTarget = m.half ? null : target.asFloatBuffer();
            this.shortTarget = m.half ? target.asShortBuffer() : null;
        }

        /** Reads rows {@code firstRow} to {@code firstRow + count} of {@code batch} and writes them transposed. */
        void read(int batch, int firstRow, int count, Float16Narrowing check) throws IOException {
            int cols = m.cols;
            int elements = count * cols;
            long sourceRow = (long) batch * m.rows + firstRow;
            bytes.clear().limit(elements * m.dtype.bytes);
            reads.readFully(m.position + sourceRow * cols * m.dtype.bytes, bytes);
            bytes.flip();
            convert(elements, check);
            int base = batch * cols * m.rows + firstRow; // element (batch, 0, firstRow) of the result
            if (m.half) {
                short[] values = m.dtype == SafetensorsDtype.F16 ? shorts : narrowed;
                for (int c = 0; c < cols; c++) {
                    for (int i = 0, at = c; i < count; i++, at += cols) {
                        halfColumn[i] = values[at];
                    }
                    shortTarget.put(base + c * m.rows, halfColumn, 0, count);
                }
            } else {
                for (int c = 0; c < cols; c++) {
                    for (int i = 0, at = c; i < count; i++, at += cols) {
                        floatColumn[i] = floats[at];
                    }
                    floatTarget.put(base + c * m.rows, floatColumn, 0, count);
                }
            }
        }

        /** The band's values in file order: float32 into {@link #floats}, or float16 bits into {@link #narrowed}. */
        private void convert(int elements, Float16Narrowing check) {
            boolean brain = m.dtype == SafetensorsDtype.BF16;
            if (m.dtype == SafetensorsDtype.F32) {
                bytes.asFloatBuffer().get(floats, 0, elements);
                if (m.half) {
                    for (int i = 0; i < elements; i++) {
                        narrowed[i] = check.narrow(floats[i]);
                    }
                }
                return;
            }
            bytes.asShortBuffer().get(shorts, 0, elements);
            if (!m.half) {
                HalfFloats.widen(shorts, floats, elements, brain);
            } else if (brain) {
                check.narrowBfloat16(shorts, narrowed, elements);
            }
            // F16 kept as float16: the bits in shorts as they are, which need no check.
        }
    }
}
