package dev.loupe.io.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.CheckpointException;
import dev.loupe.ClosestNames;
import dev.loupe.numeric.FilledArrays;
import dev.loupe.numeric.FilledArrays.Blocks;
import dev.loupe.numeric.Float16Narrowing;
import dev.loupe.numeric.Float16RangeException;
import dev.loupe.numeric.HalfFloats;
import java.io.IOException;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileChannel.MapMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * One safetensors file, memory-mapped.
 *
 * <p>{@link #open} reads and validates the whole header up front, so a corrupt or truncated file
 * fails there with a message that names the file, the tensor and the fix, and no offset from the
 * file reaches native code unchecked.
 *
 * <p>{@link #load} returns arrays that are safe to modify in place: float32 and the integer types
 * alias a copy-on-write ({@link MapMode#PRIVATE}) mapping of the file, so loading costs no copy and
 * writing to the array never writes to the file. When the file cannot be opened for writing (which
 * a private mapping requires, even though nothing is written), the bytes are copied instead.
 * bfloat16, float16 and float64 are widened or narrowed to float32 in Java while being copied;
 * {@link #loadHalf} narrows to float16 instead, checking every value.
 *
 * <p>Arrays stay valid after {@link #close()}: a mapping lives until the arrays using it are
 * garbage. Instances are safe for concurrent {@link #load} calls.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** A Java buffer, and so one mapping and one DJL array, holds at most this many bytes. */
    /** Arrays larger than this are written a block at a time (one Java buffer holds at most 2 GiB). */
    static final int BLOCK_BYTES = 1 << 30;

    /** Converted tensors are read in pieces of this size, so no second full-size buffer is needed. */
    private static final int CONVERT_CHUNK_BYTES = 4 << 20;
    /** Values converted per run of the array loops (their arrays are made once per tensor). */
    private static final int RUN = 1 << 14;

    private static final int CLOSEST_NAMES = 3;
    /** Tensors read in bands have fewer rows than this, and fewer elements a row. */
    private static final long MAX_BAND_DIMENSION = 1 << 24;

    private final Path path;
    private final FileChannel channel;
    private final boolean privateMapping;
    private final SafetensorsHeader header;
    private final List<String> names;
    private final int blockBytes;
    private final BandReader bandReader = new BandReader(this::readFully);
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, boolean privateMapping, SafetensorsHeader header,
            int blockBytes) {
        this.path = path;
        this.blockBytes = blockBytes;
        this.channel = channel;
        this.privateMapping = privateMapping;
        this.header = header;
        this.names = List.copyOf(header.tensors.keySet());
    }

    /**
     * Opens a safetensors file and validates its header as the reference implementation (the Rust
     * {@code safetensors} crate) does: the header length, the JSON (an object starting with
     * <code>'&#123;'</code> and ending within the declared length, where trailing spaces may pad it), every
     * entry's dtype and shape, that each byte range is exactly its shape times its dtype's size, and
     * that the ranges tile the data region exactly: from its first byte to the file's last, with no
     * gap, overlap or trailing bytes. A header length off by one byte thus fails here instead of
     * shifting every tensor onto its neighbour's bytes.
     *
     * @param file the {@code .safetensors} file
     * @return the open file; close it when done (loaded arrays stay valid)
     * @throws CheckpointException if the file is missing, unreadable, truncated or malformed
     */
    public static SafetensorsFile open(Path file) {
        return open(file, true);
    }

    /**
     * Opens a file, optionally refusing the copy-on-write mapping so that tests can exercise the
     * copying path (tests run as root, which can open even a read-only file for writing).
     */
    static SafetensorsFile open(Path file, boolean allowPrivateMapping) {
        return open(file, allowPrivateMapping, BLOCK_BYTES);
    }

    /** Opens a file whose arrays are written {@code blockBytes} at a most at a time (small in tests). */
    static SafetensorsFile open(Path file, boolean allowPrivateMapping, int blockBytes) {
        Objects.requireNonNull(file, "file");
        if (!Files.exists(file)) {
            throw new CheckpointException(file + " does not exist. Check the path, or download the checkpoint.");
        }
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + " is not a regular file; pass the .safetensors file itself.");
        }
        FileChannel channel = allowPrivateMapping ? openReadWrite(file) : null;
        boolean privateMapping = channel != null;
        try {
            if (channel == null) {
                channel = FileChannel.open(file, StandardOpenOption.READ);
            }
            return new SafetensorsFile(file, channel, privateMapping, SafetensorsHeader.read(file, channel), blockBytes);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new CheckpointException("Cannot read " + file + " (" + e + "). Check that the file is readable.", e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /** Returns a read+write channel, or null where the file or its file system is read-only. */
    private static FileChannel openReadWrite(Path file) {
        try {
            return FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    /**
     * Returns the path this file was opened from.
     *
     * @return the path as given to {@link #open}
     */
    public Path path() {
        return path;
    }

    /**
     * Returns the tensor names.
     *
     * @return an unmodifiable list of the names in header order, without {@code __metadata__}
     */
    public List<String> names() {
        return names;
    }

    /**
     * Tells whether the file holds a tensor.
     *
     * @param name a tensor name
     * @return true if the header has an entry with this name
     */
    public boolean contains(String name) {
        return header.tensors.containsKey(name);
    }

    /**
     * Returns a tensor's header entry.
     *
     * @param name a tensor name
     * @return its dtype, shape and byte range
     * @throws CheckpointException if there is no such tensor; the message lists the closest names
     */
    public TensorInfo info(String name) {
        TensorInfo info = header.tensors.get(name);
        if (info == null) {
            throw new CheckpointException("No tensor '" + name + "' in " + path + " (" + names.size()
                    + " tensors). " + suggestions(name));
        }
        return info;
    }

    /**
     * Returns the file's {@code __metadata__} section.
     *
     * @return an unmodifiable map, empty if the file has none
     */
    public Map<String, String> metadata() {
        return header.metadata;
    }

    /**
     * Loads one tensor as an array owned by {@code manager}.
     *
     * <p>F32, F16, BF16 and F64 become FLOAT32; I64, I32, I8, U8 and BOOL keep their type. The
     * array may be modified in place without affecting the file or other loads of the same tensor.
     *
     * @param name a tensor name
     * @param manager the manager that will own the array
     * @return the tensor, with the shape from the header
     * @throws CheckpointException if there is no such tensor, its dtype cannot be loaded, or reading it
     *     fails
     * @throws IllegalStateException if this file has been closed
     */
    public NDArray load(String name, NDManager manager) {
        Objects.requireNonNull(manager, "manager");
        TensorInfo info = info(name);
        SafetensorsDtype dtype = loadable(name, info);
        Shape shape = new Shape(info.shape());
        if (info.numel() == 0) {
            return manager.zeros(shape, dtype.loadedAs);
        }
        try {
            if (dtype.converted && inBands(info, dtype)) {
                return inBands(info, dtype, 1, false, false, manager, bandReader);
            }
            if (dtype.converted) {
                return FilledArrays.createInBlocks(manager, shape, dtype.loadedAs, blockBytes,
                        blocks -> convert(info, dtype, blocks));
            }
            return loadRaw(info, dtype.bytes, dtype.loadedAs, manager, shape);
        } catch (IOException e) {
            throw unreadable(name, e);
        }
    }

    /**
     * Loads a floating-point tensor as FLOAT16, for a model that keeps its weights so. F16 is taken as
     * it is (aliasing the file's copy-on-write mapping where possible); BF16, F32 and F64 are narrowed
     * in Java, a chunk of the file at a time, straight into the new array's memory (F64 through float,
     * as {@link #load} and then libtorch's conversion would), so no float32 copy of the tensor is ever
     * made. Every value is checked on the way: a tensor float16 cannot hold ({@link Float16Narrowing}: a
     * value that would become infinite, or zero among values all too small for float16) stops the load
     * with {@link Float16RangeException}, and the caller then keeps that tensor in float32 with
     * {@link #load}.
     *
     * @param name a tensor name
     * @param manager the manager that will own the array
     * @return the tensor as FLOAT16, with the shape from the header; rounded to nearest even, bit for bit
     *     what {@code load(name, manager).toType(FLOAT16)} gives
     * @throws Float16RangeException if float16 cannot hold one of its values
     * @throws CheckpointException as {@link #load}, and if the tensor is not floating point
     * @throws IllegalStateException if this file has been closed
     */
    public NDArray loadHalf(String name, NDManager manager) {
        Objects.requireNonNull(manager, "manager");
        TensorInfo info = info(name);
        SafetensorsDtype dtype = loadable(name, info);
        if (dtype.loadedAs != DataType.FLOAT32) {
            throw new CheckpointException(path + ": tensor '" + name + "' has dtype " + info.dtype()
                    + ", which is not floating point, so it cannot be kept in float16; load it with load().");
        }
        Shape shape = new Shape(info.shape());
        if (info.numel() == 0) {
            return manager.zeros(shape, DataType.FLOAT16);
        }
        try {
            if (dtype == SafetensorsDtype.F16) {
                return loadRaw(info, dtype.bytes, DataType.FLOAT16, manager, shape);
            }
            if (inBands(info, dtype)) {
                return inBands(info, dtype, 1, false, true, manager, bandReader);
            }
            String what = path + ": tensor '" + name + "'";
            return FilledArrays.createInBlocks(manager, shape, DataType.FLOAT16, blockBytes,
                    blocks -> narrow(info, dtype, blocks, what));
        } catch (IOException e) {
            throw unreadable(name, e);
        }
    }

    /**
     * Whether {@link #loadTransposed} reads the tensor: a nonempty BF16, F16 or F32 matrix whose rows split into
     * {@code batches} equal parts. Otherwise the caller loads it with {@link #load} or {@link #loadHalf} and
     * transposes it there.
     *
     * @param name a tensor name of this file
     */
    public boolean readsTransposed(String name, int batches) {
        TensorInfo info = info(name);
        SafetensorsDtype dtype = SafetensorsDtype.of(info.dtype());
        return dtype != null && info.shape().length == 2 && inBands(info, dtype) && batches > 0
                && info.shape()[0] % batches == 0;
    }

    /**
     * Whether a tensor is read in bands of rows ({@link BandReader}): a nonempty BF16, F16 or F32 one of two or
     * more dimensions whose first one and whose row (the others) are each under {@value #MAX_BAND_DIMENSION}.
     */
    private static boolean inBands(TensorInfo info, SafetensorsDtype dtype) {
        long[] shape = info.shape();
        if (!BandReader.reads(dtype) || shape.length < 2 || info.numel() == 0) {
            return false;
        }
        return shape[0] < MAX_BAND_DIMENSION && info.numel() / shape[0] < MAX_BAND_DIMENSION;
    }

    /**
     * Loads a matrix stored as [batches·rows, cols] (an {@code nn.Linear} weight [out, in], or one whose
     * output rows are {@code batches} heads) as [batches, cols, rows], each batch's [rows, cols] transposed:
     * converted and transposed on the way into the array's memory, so the matrix is written once
     * ({@link BandReader}). Bit for bit what {@code load(name).reshape(batches, rows, cols).transpose(0, 2, 1)}
     * made contiguous gives, in float16 ({@code half}) what the same of {@link #loadHalf} gives, with the same
     * checks.
     *
     * @throws Float16RangeException if {@code half} and float16 cannot hold one of its values
     * @throws IllegalArgumentException unless {@link #readsTransposed} says it reads this tensor
     * @throws CheckpointException as {@link #load}
     */
    public NDArray loadTransposed(String name, int batches, boolean half, NDManager manager) {
        return loadTransposed(name, batches, half, manager, bandReader);
    }

    /** As {@link #loadTransposed(String, int, boolean, NDManager)} through {@code reader}. */
    NDArray loadTransposed(String name, int batches, boolean half, NDManager manager, BandReader reader) {
        Objects.requireNonNull(manager, "manager");
        TensorInfo info = info(name);
        SafetensorsDtype dtype = loadable(name, info);
        if (!readsTransposed(name, batches)) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' (" + info.dtype() + ", shape "
                    + Arrays.toString(info.shape()) + ") is not read transposed in " + batches + " parts");
        }
        try {
            return inBands(info, dtype, batches, true, half, manager, reader);
        } catch (IOException e) {
            throw unreadable(name, e);
        }
    }

    /** As {@link #load} ({@code half}: {@link #loadHalf}) of a tensor read in bands by {@code reader}. */
    NDArray loadInBands(String name, boolean half, NDManager manager, BandReader reader) {
        TensorInfo info = info(name);
        SafetensorsDtype dtype = loadable(name, info);
        try {
            return inBands(info, dtype, 1, false, half, manager, reader);
        } catch (IOException e) {
            throw unreadable(name, e);
        }
    }

    /**
     * The tensor [batches·rows, cols…] read in bands by {@code reader} into a new array: as stored, or
     * ({@code transposed}) as [batches, cols, rows]; float16 when {@code half}, else float32.
     */
    private NDArray inBands(TensorInfo info, SafetensorsDtype dtype, int batches, boolean transposed, boolean half,
            NDManager manager, BandReader reader) throws IOException {
        long[] stored = info.shape();
        int rows = (int) (stored[0] / batches);
        int cols = (int) (info.numel() / stored[0]);
        Shape shape = transposed ? new Shape(batches, cols, rows) : new Shape(stored);
        DataType type = half ? DataType.FLOAT16 : DataType.FLOAT32;
        String what = path + ": tensor '" + info.name() + "'";
        long partElements = Math.max(1, blockBytes / type.getNumOfBytes());
        return FilledArrays.createInParts(manager, shape, type, blockBytes, parts -> reader.read(new BandReader.Tensor(
                header.dataStart + info.begin(), dtype, batches, rows, cols, transposed, half, what, parts, partElements)));
    }

    /** A band reader of this file with the given bands and threads (for tests). */
    BandReader bandReader(int bandElements, int bandRows, int threads, long parallelElements) {
        return new BandReader(this::readFully, bandElements, bandRows, threads, parallelElements);
    }

    /** The tensor's dtype, refused unless Loupe can load it; refused too once the file is closed. */
    private SafetensorsDtype loadable(String name, TensorInfo info) {
        if (closed) {
            throw new IllegalStateException(path + " is closed; open it again to load '" + name + "'.");
        }
        SafetensorsDtype dtype = SafetensorsDtype.of(info.dtype());
        if (dtype.loadedAs == null) {
            throw new CheckpointException(path + ": tensor '" + name + "' has dtype " + info.dtype() + ", which"
                    + " Loupe cannot load (it loads " + SafetensorsDtype.LOADABLE + "). Convert the checkpoint,"
                    + " e.g. to float32 with safetensors.torch.save_file.");
        }
        return dtype;
    }

    private CheckpointException unreadable(String name, IOException e) {
        return new CheckpointException(path + ": could not read tensor '" + name + "': " + e
                + ". Check that the file is still there and readable, and that it was not closed.", e);
    }

    /** Hands the file's bytes to DJL, aliased through a private mapping where possible. */
    private NDArray loadRaw(TensorInfo info, int elementBytes, DataType type, NDManager manager, Shape shape)
            throws IOException {
        long position = header.dataStart + info.begin();
        if (!privateMapping || info.byteSize() > blockBytes) {
            return FilledArrays.createInBlocks(manager, shape, type, blockBytes, blocks -> {
                long next = position;
                for (long left = info.byteSize(); left > 0; ) {
                    ByteBuffer block = blocks.next();
                    int size = block.remaining();
                    readFully(next, block);
                    next += size;
                    left -= size;
                }
            });
        }
        int length = (int) info.byteSize();
        // PRIVATE, never READ_ONLY: DJL aliases the buffer, and an in-place op on a read-only
        // mapping is a SIGSEGV in libtorch, not an exception.
        ByteBuffer mapped = channel.map(MapMode.PRIVATE, position, length).order(ByteOrder.LITTLE_ENDIAN);
        if (mapped.alignmentOffset(0, elementBytes) == 0) {
            return manager.create(mapped, shape, type);
        }
        // Offsets in the file need not be multiples of the element size; kernels may assume they are.
        return FilledArrays.create(manager, shape, type, length, target -> target.put(mapped));
    }

    /** Fills the remaining bytes of {@code target} from the file, starting at {@code position}. */
    private void readFully(long position, ByteBuffer target) throws IOException {
        long next = position;
        while (target.hasRemaining()) {
            int read = channel.read(target, next);
            if (read < 0) {
                throw new CheckpointException(path + " is shorter than when it was opened: it was truncated"
                        + " while in use. Open it again, or re-download it.");
            }
            next += read;
        }
    }

    /** What is done with each chunk of a tensor's bytes (little-endian, whole elements). */
    @FunctionalInterface
    private interface ChunkSink {
        void accept(ByteBuffer chunk);
    }

    /**
     * Reads a tensor's bytes a chunk at a time with positional reads, so that neither a second
     * full-size buffer nor a mapping of the whole tensor exists: what was read stays only in the page
     * cache, which the kernel may drop.
     */
    private void forEachChunk(TensorInfo info, ChunkSink sink) throws IOException {
        // A heap chunk: the JDK reads through a cached per-thread direct buffer, so loading many
        // tensors does not keep allocating direct memory that only a GC gives back.
        ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(info.byteSize(), CONVERT_CHUNK_BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        long position = header.dataStart + info.begin();
        long remaining = info.byteSize();
        while (remaining > 0) {
            chunk.clear().limit((int) Math.min(remaining, chunk.capacity()));
            readFully(position, chunk);
            chunk.flip();
            position += chunk.limit();
            remaining -= chunk.limit();
            sink.accept(chunk);
        }
    }

    /**
     * The destination of a conversion: the array's blocks in order, each as a typed buffer; a chunk of the
     * file is converted in runs that end where the chunk or the current block ends.
     */
    private static final class Output {
        private final Blocks blocks;
        private final int elementBytes;
        private ByteBuffer block;

        Output(Blocks blocks, int elementBytes) {
            this.blocks = blocks;
            this.elementBytes = elementBytes;
        }

        /** How many elements the next run converts: as many as both the input and the current block hold. */
        int run(Buffer input) {
            if (block == null || !block.hasRemaining()) {
                block = blocks.next();
            }
            return Math.min(input.remaining(), block.remaining() / elementBytes);
        }

        FloatBuffer floats(int count) {
            FloatBuffer view = block.asFloatBuffer();
            block.position(block.position() + count * Float.BYTES);
            return view;
        }

        ShortBuffer shorts(int count) {
            ShortBuffer view = block.asShortBuffer();
            block.position(block.position() + count * Short.BYTES);
            return view;
        }
    }

    /** Widens (or, for F64, narrows) a tensor to float32, a chunk at a time, into the array's blocks. */
    private void convert(TensorInfo info, SafetensorsDtype dtype, Blocks blocks) throws IOException {
        Output output = new Output(blocks, Float.BYTES);
        short[] runIn = new short[RUN];
        float[] runWidened = new float[RUN];
        forEachChunk(info, chunk -> {
            switch (dtype) {
                case BF16, F16 -> {
                    boolean brain = dtype == SafetensorsDtype.BF16;
                    ShortBuffer in = chunk.asShortBuffer();
                    while (in.hasRemaining()) {
                        int count = output.run(in);
                        FloatBuffer out = output.floats(count);
                        // In runs through arrays: bulk buffer copies and a loop the JIT vectorises.
                        for (int done = 0; done < count; ) {
                            int run = Math.min(count - done, RUN);
                            in.get(runIn, 0, run);
                            HalfFloats.widen(runIn, runWidened, run, brain);
                            out.put(runWidened, 0, run);
                            done += run;
                        }
                    }
                }
                case F64 -> {
                    DoubleBuffer in = chunk.asDoubleBuffer();
                    while (in.hasRemaining()) {
                        int count = output.run(in);
                        FloatBuffer out = output.floats(count);
                        for (int i = 0; i < count; i++) {
                            out.put((float) in.get());
                        }
                    }
                }
                default -> throw new IllegalStateException("no conversion for " + dtype);
            }
        });
    }

    /** Narrows a BF16, F32 or F64 tensor to float16, checking every value, a chunk at a time. */
    private void narrow(TensorInfo info, SafetensorsDtype dtype, Blocks blocks, String what) throws IOException {
        Float16Narrowing narrowing = new Float16Narrowing(what);
        Output output = new Output(blocks, Short.BYTES);
        short[] runIn = new short[RUN];
        short[] runNarrowed = new short[RUN];
        forEachChunk(info, chunk -> {
            switch (dtype) {
                case BF16 -> {
                    ShortBuffer in = chunk.asShortBuffer();
                    while (in.hasRemaining()) {
                        int count = output.run(in);
                        ShortBuffer out = output.shorts(count);
                        for (int done = 0; done < count; ) {
                            int run = Math.min(count - done, RUN);
                            in.get(runIn, 0, run);
                            narrowing.narrowBfloat16(runIn, runNarrowed, run);
                            out.put(runNarrowed, 0, run);
                            done += run;
                        }
                    }
                }
                case F32 -> {
                    FloatBuffer in = chunk.asFloatBuffer();
                    while (in.hasRemaining()) {
                        int count = output.run(in);
                        ShortBuffer out = output.shorts(count);
                        for (int i = 0; i < count; i++) {
                            out.put(narrowing.narrow(in.get()));
                        }
                    }
                }
                case F64 -> {
                    DoubleBuffer in = chunk.asDoubleBuffer();
                    while (in.hasRemaining()) {
                        int count = output.run(in);
                        ShortBuffer out = output.shorts(count);
                        for (int i = 0; i < count; i++) {
                            out.put(narrowing.narrow((float) in.get()));
                        }
                    }
                }
                default -> throw new IllegalStateException("no narrowing for " + dtype);
            }
        });
        narrowing.finish();
    }

    /** Tells whether loads alias a copy-on-write mapping (true) or copy the bytes (false). */
    boolean usesPrivateMapping() {
        return privateMapping;
    }

    /**
     * Closes the file. Arrays already loaded stay valid; further {@link #load} calls fail.
     */
    @Override
    public void close() {
        closed = true;
        closeQuietly(channel);
    }

    private String suggestions(String name) {
        if (names.isEmpty()) {
            return "The file holds no tensors.";
        }
        String closest = ClosestNames.of(name, names, CLOSEST_NAMES).stream()
                .map(candidate -> "'" + candidate + "'")
                .collect(Collectors.joining(", "));
        return "Closest names: " + closest + ". Check the name, or call names() to list them all.";
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing was written, so a failed close loses nothing.
        }
    }
}
