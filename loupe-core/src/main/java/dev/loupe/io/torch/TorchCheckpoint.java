package dev.loupe.io.torch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.CheckpointException;
import dev.loupe.ClosestNames;
import dev.loupe.numeric.FilledArrays;
import dev.loupe.numeric.Float16Narrowing;
import dev.loupe.numeric.Float16RangeException;
import dev.loupe.numeric.HalfFloats;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A PyTorch checkpoint in the zip format that {@code torch.save} has written since torch 1.6
 * ({@code pytorch_model.bin}, {@code .pt}, {@code .pth}), read without running any code from it.
 *
 * <p>The zip holds {@code <prefix>/data.pkl}, a pickle of the saved object, and one entry
 * {@code <prefix>/data/<key>} of raw little-endian bytes per storage. The pickle is interpreted by
 * a restricted unpickler: it resolves only the torch globals a state dict needs
 * ({@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2},
 * {@code _rebuild_parameter}, the {@code torch.*Storage} classes), interprets them in Java, and
 * refuses any other global (such as {@code os.system}) at the opcode that names it, so a malicious
 * file fails to open instead of running code.
 *
 * <p>Tensor names are the state dict's keys in the file's order. Dicts nested in the saved object
 * (e.g. {@code {"state_dict": {...}, "epoch": 3}}) are flattened with {@code "."}, lists and tuples
 * by index; values that are not tensors (numbers, strings, metadata) are ignored.
 *
 * <p>{@link #open} parses the pickle and checks, for every tensor, that its storage entry exists
 * and is large enough for its shape, stride and offset, so a damaged file fails there.
 * {@link #load} then copies one tensor into a fresh array: strided views (a transpose sharing a
 * storage, a row at an offset) are gathered into C order in Java, and float16, bfloat16 and
 * float64 are converted to float32 while copying. Arrays never alias the file, so they may be
 * modified in place and stay valid after {@link #close()}. Instances are safe for concurrent
 * {@link #load} calls.
 *
 * <p>Legacy (pre-1.6, or {@code _use_new_zipfile_serialization=False}) files and TorchScript
 * archives are recognised and refused with a message saying how to convert them.
 */
public final class TorchCheckpoint implements AutoCloseable {
    /**
     * A Java buffer, and so one storage window (what a strided view spans, read whole to gather from) or
     * one block of a new array, holds at most this many bytes.
     */
    private static final long MAX_WINDOW_BYTES = Integer.MAX_VALUE;

    /** A contiguous tensor is written into its array this many bytes at most at a time. */
    private static final int BLOCK_BYTES = 1 << 30;

    /** data.pkl only describes tensors (a few bytes each); anything this large is not a state dict. */
    private static final long MAX_PICKLE_BYTES = 1L << 30;

    /** Widened tensors are read in pieces of this size, so no full-size second copy is needed. */
    private static final int CHUNK_BYTES = 4 << 20;

    /** Most characters all tensor names (and the paths to them) may take together. */
    static final long MAX_NAME_CHARS = 64L << 20;

    private static final int CLOSEST_NAMES = 3;

    /**
     * The magic number 0x1950a86a20f9469cfc6c that legacy torch files pickle first, as the
     * little-endian payload of a LONG1 opcode.
     */
    private static final byte[] LEGACY_MAGIC = HexFormat.of().parseHex("8a0a6cfc9c46f9206aa85019");

    private final Path path;
    private final ZipFile zip;
    private final Map<String, TensorRef> tensors;
    /** The zip entry of each storage key. */
    private final Map<String, ZipEntry> storages;
    private final List<String> names;
    private final int blockBytes;
    private volatile boolean closed;

    private TorchCheckpoint(Path path, ZipFile zip, Map<String, TensorRef> tensors, Map<String, ZipEntry> storages,
            int blockBytes) {
        this.path = path;
        this.blockBytes = blockBytes;
        this.zip = zip;
        this.tensors = tensors;
        this.storages = storages;
        this.names = List.copyOf(tensors.keySet());
    }

    /**
     * Opens a {@code torch.save} zip checkpoint: reads the zip directory, interprets the pickle
     * with the restricted unpickler, and checks every tensor's storage entry.
     *
     * @param file the checkpoint, e.g. {@code pytorch_model.bin}
     * @return the open checkpoint; close it when done (loaded arrays stay valid)
     * @throws CheckpointException if the file is missing, not a torch checkpoint, a legacy or
     *     TorchScript file, truncated or corrupt, big-endian, or if its pickle asks for a global
     *     outside the allow-list (a file that may try to run code)
     */
    public static TorchCheckpoint open(Path file) {
        return open(file, BLOCK_BYTES);
    }

    /** Opens a checkpoint whose arrays are written {@code blockBytes} at most at a time (small in tests). */
    static TorchCheckpoint open(Path file, int blockBytes) {
        Objects.requireNonNull(file, "file");
        if (!Files.exists(file)) {
            throw new CheckpointException(file + " does not exist. Check the path, or download the checkpoint.");
        }
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + " is not a regular file; pass the checkpoint file itself"
                    + " (e.g. pytorch_model.bin), not a folder.");
        }
        byte[] head = head(file);
        if (!isZip(head)) {
            throw notZip(file, head);
        }
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw corrupt(file, e);
        } catch (IllegalArgumentException e) {
            // java.util.zip decodes entry names strictly: a name that is not UTF-8 is an unchecked error.
            throw corrupt(file, new ZipException(String.valueOf(e.getMessage())), e);
        } catch (IOException e) {
            throw new CheckpointException("Cannot read " + file + " (" + e + "). Check that the file is readable.", e);
        }
        try {
            return read(file, zip, blockBytes);
        } catch (ZipException | EOFException e) {
            closeQuietly(zip);
            throw corrupt(file, e);
        } catch (IOException e) {
            closeQuietly(zip);
            throw new CheckpointException("Cannot read " + file + " (" + e + "). Check that the file is readable.", e);
        } catch (IllegalArgumentException e) {
            closeQuietly(zip);
            throw corrupt(file, new ZipException(String.valueOf(e.getMessage())), e);
        } catch (RuntimeException e) {
            closeQuietly(zip);
            throw e;
        }
    }

    private static TorchCheckpoint read(Path file, ZipFile zip, int blockBytes) throws IOException {
        String pickleName = pickleEntry(file, zip);
        String prefix = pickleName.substring(0, pickleName.length() - "data.pkl".length());
        checkByteOrder(file, zip, prefix);

        ZipEntry pickleEntry = zip.getEntry(pickleName);
        if (pickleEntry.getSize() > MAX_PICKLE_BYTES) {
            throw new CheckpointException(file + ": " + pickleName + " is " + pickleEntry.getSize() + " bytes, more than"
                    + " any state dict needs (at most " + MAX_PICKLE_BYTES + "). This is not a torch.save state dict;"
                    + " convert it to safetensors in Python.");
        }
        byte[] pickle;
        try (InputStream in = zip.getInputStream(pickleEntry)) {
            pickle = in.readNBytes((int) MAX_PICKLE_BYTES);
        }
        Object root = RestrictedUnpickler.load(pickle, file + " (" + pickleName + ")");

        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        if (root instanceof TensorRef) {
            throw new CheckpointException(file + " holds a single tensor rather than a dict of named tensors. Save a"
                    + " dict instead, e.g. torch.save({'weight': tensor}, path).");
        }
        if (!(root instanceof Map || root instanceof List)) {
            throw new CheckpointException(file + " holds " + describe(root) + " rather than a state dict (a dict of"
                    + " tensors). Save model.state_dict() with torch.save.");
        }
        Flattener flattener = new Flattener(file);
        flattener.flatten(root, null, tensors, 0);

        Map<String, ZipEntry> storages = new HashMap<>();
        for (Map.Entry<String, TensorRef> named : tensors.entrySet()) {
            checkStorage(file, zip, prefix, named.getKey(), named.getValue(), storages);
        }
        return new TorchCheckpoint(file, zip, tensors, storages, blockBytes);
    }

    /** Finds the one {@code data.pkl}; its folder is the prefix of every other entry. */
    private static String pickleEntry(Path file, ZipFile zip) {
        List<String> pickles = new ArrayList<>();
        boolean torchScript = false;
        for (Enumeration<? extends ZipEntry> entries = zip.entries(); entries.hasMoreElements(); ) {
            String name = entries.nextElement().getName();
            if (name.equals("data.pkl") || name.endsWith("/data.pkl")) {
                pickles.add(name);
            }
            torchScript |= name.endsWith("constants.pkl") || name.contains("/code/");
        }
        if (torchScript) {
            throw new CheckpointException(file + " is a TorchScript archive (torch.jit.save), not a torch.save"
                    + " checkpoint; Loupe does not run TorchScript. Save the weights instead:"
                    + " torch.save(model.state_dict(), path), or convert them to safetensors.");
        }
        if (pickles.isEmpty()) {
            throw new CheckpointException(file + " is a zip file but not a PyTorch checkpoint: it has no data.pkl"
                    + " entry (torch.save writes <name>/data.pkl). Pass a file written by torch.save.");
        }
        if (pickles.size() > 1) {
            throw new CheckpointException(file + " holds " + pickles.size() + " data.pkl entries " + pickles
                    + "; a torch.save checkpoint has exactly one. Re-save it with torch.save.");
        }
        return pickles.get(0);
    }

    /** The storages are raw bytes in the saving machine's order; Loupe reads little-endian only. */
    private static void checkByteOrder(Path file, ZipFile zip, String prefix) throws IOException {
        ZipEntry entry = zip.getEntry(prefix + "byteorder");
        if (entry == null) {
            // Files from torch 1.6 to 1.9 have no byteorder entry; they are little-endian in practice.
            return;
        }
        String order;
        try (InputStream in = zip.getInputStream(entry)) {
            order = new String(in.readNBytes(64), StandardCharsets.US_ASCII).strip();
        }
        if (!order.equals("little")) {
            throw new CheckpointException(file + " stores its tensors with byte order '"
                    + RestrictedUnpickler.printable(order) + "'; Loupe reads only little-endian checkpoints."
                    + " Load it with torch on any machine and save it again, or convert it to safetensors.");
        }
    }

    /**
     * Flattens nested dicts (and lists) into dotted names. Containers already being walked are
     * skipped: a pickle can make a dict contain itself. The walk visits what the unpickler's
     * expanded-size check bounded ({@link RestrictedUnpickler#MAX_OBJECTS}), and the names it
     * builds are bounded too ({@link #MAX_NAME_CHARS}), since one long key shared by many entries
     * would otherwise be copied into every name.
     */
    private static final class Flattener {
        private final Path file;
        private final Set<Object> walking = Collections.newSetFromMap(new IdentityHashMap<>());
        private long nameChars;

        Flattener(Path file) {
            this.file = file;
        }

        void flatten(Object value, String name, Map<String, TensorRef> into, int depth) {
            if (value instanceof TensorRef tensor) {
                if (into.putIfAbsent(name, tensor) != null) {
                    throw new CheckpointException(file + " has two tensors named '" + RestrictedUnpickler.printable(name)
                            + "' once nested dicts are joined with '.'. Rename one of the keys and save it again.");
                }
                return;
            }
            if (!(value instanceof Map || value instanceof List)) {
                return; // numbers, strings, metadata: not tensors, not errors
            }
            if (depth >= RestrictedUnpickler.MAX_DEPTH) {
                throw new CheckpointException(file + " nests dicts more than " + RestrictedUnpickler.MAX_DEPTH
                        + " levels deep; that is not a state dict. Save model.state_dict() with torch.save.");
            }
            if (!walking.add(value)) {
                return;
            }
            if (value instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    String key = keyName(entry.getKey());
                    if (key == null) {
                        Map<String, TensorRef> under = new LinkedHashMap<>();
                        flatten(entry.getValue(), "?", under, depth + 1);
                        if (!under.isEmpty()) {
                            throw new CheckpointException(file + " has tensors under a dict key that is a "
                                    + describe(((RestrictedUnpickler.OpaqueKey) entry.getKey()).value)
                                    + ", not a string or a number, so they cannot be named. Use string keys.");
                        }
                        continue;
                    }
                    if (named(entry.getValue())) {
                        flatten(entry.getValue(), join(name, key), into, depth + 1);
                    }
                }
            } else {
                List<?> list = (List<?>) value;
                for (int i = 0; i < list.size(); i++) {
                    if (named(list.get(i))) {
                        flatten(list.get(i), join(name, Integer.toString(i)), into, depth + 1);
                    }
                }
            }
            walking.remove(value);
        }

        /** Whether a value gets a name: a tensor, or a container that may hold one. */
        private static boolean named(Object value) {
            return value instanceof TensorRef || value instanceof Map || value instanceof List;
        }

        private String join(String name, String key) {
            String joined = name == null ? key : name + "." + key;
            nameChars += joined.length();
            if (nameChars > MAX_NAME_CHARS) {
                throw new CheckpointException(file + " refuses to load: its tensor names, nested keys joined with '.',"
                        + " come to more than " + MAX_NAME_CHARS + " characters, Loupe's limit (a state dict's names"
                        + " take a few hundred kilobytes). The file is corrupt or made to exhaust the reader.");
            }
            return joined;
        }
    }

    /** A dict key as part of a tensor name, as Python's str() would print it; null for a tuple or bytes key. */
    private static String keyName(Object key) {
        if (key instanceof RestrictedUnpickler.OpaqueKey) {
            return null;
        }
        if (key instanceof Boolean bool) {
            return bool ? "True" : "False";
        }
        return key == null ? "None" : key.toString();
    }

    /** Checks at open that a tensor's storage entry exists and holds every element the view reads. */
    private static void checkStorage(Path file, ZipFile zip, String prefix, String name, TensorRef tensor,
            Map<String, ZipEntry> storages) {
        String key = tensor.storage().key();
        ZipEntry entry = storages.get(key);
        if (entry == null) {
            entry = zip.getEntry(prefix + "data/" + key);
            if (entry == null) {
                throw new CheckpointException(file + ": tensor '" + RestrictedUnpickler.printable(name) + "' uses"
                        + " storage '" + RestrictedUnpickler.printable(key) + "', but the file has no entry '" + prefix
                        + "data/" + RestrictedUnpickler.printable(key) + "'. The file is truncated or incomplete;"
                        + " re-download it or re-save it with torch.save.");
            }
            storages.put(key, entry);
        }
        if (tensor.numel() == 0 || entry.getSize() < 0) {
            return; // nothing to read, or a size only known while reading (checked there)
        }
        long needed = storageBytesNeeded(tensor);
        if (entry.getSize() < needed) {
            throw tooSmall(file, name, tensor, needed, entry.getSize());
        }
    }

    /** Bytes of storage up to and including the view's last element. */
    private static long storageBytesNeeded(TensorRef tensor) {
        return (tensor.offset() + tensor.lastIndex() + 1) * tensor.storage().type().bytes;
    }

    private static CheckpointException tooSmall(Path file, String name, TensorRef tensor, long needed, long actual) {
        return new CheckpointException(file + ": tensor '" + RestrictedUnpickler.printable(name) + "' ("
                + tensor.describe() + ") needs " + needed + " bytes of storage '"
                + RestrictedUnpickler.printable(tensor.storage().key()) + "', but the storage has only " + actual
                + " bytes. The file is truncated or corrupt; re-download it or re-save it with torch.save.");
    }

    /**
     * Returns the path this checkpoint was opened from.
     *
     * @return the path as given to {@link #open}
     */
    public Path path() {
        return path;
    }

    /**
     * Returns the tensor names.
     *
     * @return an unmodifiable list of the names in the file's order (an OrderedDict's insertion
     *     order), nested dicts joined with {@code "."}
     */
    public List<String> names() {
        return names;
    }

    /**
     * Tells whether the checkpoint holds a tensor.
     *
     * @param name a tensor name
     * @return true if {@link #names()} contains it
     */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * Returns a tensor's shape.
     *
     * @param name a tensor name
     * @return a new array with the size of each dimension; empty for a 0-d scalar
     * @throws CheckpointException if there is no such tensor; the message lists the closest names
     */
    public long[] shape(String name) {
        return tensor(name).size().clone();
    }

    /**
     * Returns the dtype a tensor has in the file, as torch names it.
     *
     * @param name a tensor name
     * @return e.g. {@code float32}, {@code bfloat16}, {@code int64}
     * @throws CheckpointException if there is no such tensor
     */
    public String dtype(String name) {
        return tensor(name).storage().type().dtype;
    }

    /**
     * Loads one tensor into a new array owned by {@code manager}, in C (row-major) order.
     *
     * <p>float32, float16, bfloat16 and float64 become FLOAT32; int16 becomes INT32 (DJL cannot
     * hold either bfloat16 or int16); int64, int32, int8, uint8 and bool keep their type. The array
     * is a copy: it may be modified in place.
     *
     * @param name a tensor name
     * @param manager the manager that will own the array
     * @return the tensor, with the shape from the file
     * @throws CheckpointException if there is no such tensor, its dtype cannot be loaded (complex),
     *     it is a strided (non-C-order) view spanning more than 2 GiB of its storage, or reading it fails
     * @throws IllegalStateException if this checkpoint has been closed
     */
    public NDArray load(String name, NDManager manager) {
        return load(name, manager, false);
    }

    /**
     * Loads a floating-point tensor as FLOAT16, for a model that keeps its weights so: float16 as it
     * is, float32, bfloat16 and float64 narrowed in Java while being copied (a chunk of the storage at
     * a time, straight into the new array's memory), checking every value. A tensor float16 cannot hold
     * ({@link Float16Narrowing}: a value that would become infinite, or zero among values all too small
     * for float16) stops the load with
     * {@link Float16RangeException}, and the caller then keeps that tensor in float32 with {@link #load}.
     *
     * @param name a tensor name
     * @param manager the manager that will own the array
     * @return the tensor as FLOAT16, rounded to nearest even: bit for bit what
     *     {@code load(name, manager).toType(FLOAT16)} gives
     * @throws Float16RangeException if float16 cannot hold one of its values
     * @throws CheckpointException as {@link #load}, and if the tensor is not floating point
     * @throws IllegalStateException if this checkpoint has been closed
     */
    public NDArray loadHalf(String name, NDManager manager) {
        return load(name, manager, true);
    }

    private NDArray load(String name, NDManager manager, boolean half) {
        Objects.requireNonNull(manager, "manager");
        TensorRef tensor = tensor(name);
        if (closed) {
            throw new IllegalStateException(path + " is closed; open it again to load '" + name + "'.");
        }
        StorageType type = tensor.storage().type();
        if (type.loadedAs == null) {
            throw new CheckpointException(path + ": tensor '" + name + "' has dtype " + type.dtype + " (torch."
                    + type.className + "), which Loupe cannot load (it loads " + StorageType.LOADABLE + "). Convert"
                    + " it in Python before saving, e.g. to a real dtype.");
        }
        if (half && !type.floating()) {
            throw new CheckpointException(path + ": tensor '" + name + "' has dtype " + type.dtype + ", which is not"
                    + " floating point, so it cannot be kept in float16; load it with load().");
        }
        DataType loadedAs = half ? DataType.FLOAT16 : type.loadedAs;
        Shape shape = new Shape(tensor.size());
        long numel = tensor.numel();
        if (numel == 0) {
            return manager.zeros(shape, loadedAs);
        }
        long loadedBytes = numel * loadedAs.getNumOfBytes();
        long windowBytes = (tensor.lastIndex() + 1) * type.bytes;
        if (!tensor.contiguous() && (loadedBytes > MAX_WINDOW_BYTES || windowBytes > MAX_WINDOW_BYTES)) {
            throw new CheckpointException(path + ": tensor '" + name + "' (" + tensor.describe() + ") is a strided view"
                    + " that needs " + Math.max(loadedBytes, windowBytes) + " bytes; Loupe gathers strided views of at"
                    + " most 2 GiB. Save a contiguous copy (tensor.contiguous()) instead.");
        }
        Float16Narrowing narrowing = half ? new Float16Narrowing(path + ": tensor '" + name + "'") : null;
        ElementCopy copy = half ? (source, at, target) -> copyHalf(type, source, at, target, narrowing)
                : (source, at, target) -> copyElement(type, source, at, target);
        // Bytes that need no conversion are copied a chunk at a time instead of element by element.
        boolean asIs = half ? type == StorageType.HALF : type.copiedAsIs() && type != StorageType.BOOL;
        ZipEntry entry = storages.get(tensor.storage().key());
        try {
            if (tensor.contiguous()) {
                return FilledArrays.createInBlocks(manager, shape, loadedAs, blockBytes,
                        blocks -> {
                            readRun(tensor, entry, blocks, copy, asIs);
                            finish(narrowing);
                        });
            }
            return FilledArrays.create(manager, shape, loadedAs, (int) loadedBytes,
                    target -> {
                        gather(tensor, entry, target, copy);
                        finish(narrowing);
                    });
        } catch (ZipException | EOFException e) {
            throw new CheckpointException(path + ": could not read tensor '" + name + "': the storage entry "
                    + entry.getName() + " is truncated or corrupt (" + e.getMessage() + "). Re-download the file or"
                    + " re-save it with torch.save.", e);
        } catch (IOException e) {
            throw new CheckpointException(path + ": could not read tensor '" + name + "': " + e
                    + ". Check that the file is still there and readable, and that it was not closed.", e);
        }
    }

    /** Copies the element at byte {@code at} of {@code source} to {@code target}, converting it. */
    @FunctionalInterface
    private interface ElementCopy {
        void copy(ByteBuffer source, int at, ByteBuffer target);
    }

    /**
     * Copies a C-order view, which is one run of the storage, a chunk at a time into the array's blocks
     * (which hold whole elements, so an element never straddles two).
     */
    private void readRun(TensorRef tensor, ZipEntry entry, FilledArrays.Blocks blocks, ElementCopy copy, boolean asIs)
            throws IOException {
        StorageType type = tensor.storage().type();
        ByteBuffer target = blocks.next();
        try (InputStream in = zip.getInputStream(entry)) {
            in.skipNBytes(tensor.offset() * type.bytes);
            long remaining = tensor.numel() * type.bytes;
            // CHUNK_BYTES is a multiple of every element size, so no element straddles two chunks.
            byte[] chunk = new byte[(int) Math.min(remaining, CHUNK_BYTES)];
            ByteBuffer source = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
            while (remaining > 0) {
                int n = (int) Math.min(remaining, chunk.length);
                readFully(in, chunk, n);
                remaining -= n;
                if (asIs) {
                    for (int at = 0; at < n; ) {
                        if (!target.hasRemaining()) {
                            target = blocks.next();
                        }
                        int piece = Math.min(n - at, target.remaining());
                        target.put(chunk, at, piece);
                        at += piece;
                    }
                } else {
                    for (int at = 0; at < n; at += type.bytes) {
                        if (!target.hasRemaining()) {
                            target = blocks.next();
                        }
                        copy.copy(source, at, target);
                    }
                }
            }
        }
    }

    /**
     * Copies a strided view (a transpose, a column) into C order: reads the storage window the
     * view spans, then walks the view's indices like an odometer, adding and removing strides.
     */
    private void gather(TensorRef tensor, ZipEntry entry, ByteBuffer target, ElementCopy copy) throws IOException {
        StorageType type = tensor.storage().type();
        byte[] window = new byte[(int) ((tensor.lastIndex() + 1) * type.bytes)];
        try (InputStream in = zip.getInputStream(entry)) {
            in.skipNBytes(tensor.offset() * type.bytes);
            readFully(in, window, window.length);
        }
        ByteBuffer source = ByteBuffer.wrap(window).order(ByteOrder.LITTLE_ENDIAN);
        long[] size = tensor.size();
        long[] stride = tensor.stride();
        long[] index = new long[size.length];
        long element = 0;
        for (long n = tensor.numel(); n > 0; n--) {
            copy.copy(source, (int) (element * type.bytes), target);
            for (int d = size.length - 1; d >= 0; d--) {
                element += stride[d];
                if (++index[d] < size[d]) {
                    break;
                }
                element -= stride[d] * size[d];
                index[d] = 0;
            }
        }
    }

    private static void readFully(InputStream in, byte[] buffer, int n) throws IOException {
        if (in.readNBytes(buffer, 0, n) != n) {
            throw new EOFException("the entry ends early");
        }
    }

    /**
     * Copies one element of a floating-point storage to a float16 {@code target}: float16 as it is,
     * the others narrowed with every value checked.
     */
    private static void copyHalf(StorageType type, ByteBuffer source, int at, ByteBuffer target,
            Float16Narrowing narrowing) {
        float value = switch (type) {
            case HALF -> {
                target.putShort(source.getShort(at));
                yield 0f;
            }
            case FLOAT -> source.getFloat(at);
            case BFLOAT16 -> HalfFloats.bfloat16ToFloat(source.getShort(at));
            case DOUBLE -> (float) source.getDouble(at);
            default -> throw new IllegalStateException("no narrowing for " + type);
        };
        if (type != StorageType.HALF) {
            target.putShort(narrowing.narrow(value));
        }
    }

    /** Ends a float16 load: the narrowing decides whether the tensor's small values were lost. */
    private static void finish(Float16Narrowing narrowing) {
        if (narrowing != null) {
            narrowing.finish();
        }
    }

    /** Copies one element at byte {@code at} of {@code source} to {@code target}, widening where needed. */
    private static void copyElement(StorageType type, ByteBuffer source, int at, ByteBuffer target) {
        switch (type) {
            // Copied as bits, so NaN payloads survive unchanged.
            case FLOAT, INT -> target.putInt(source.getInt(at));
            case LONG -> target.putLong(source.getLong(at));
            case CHAR, BYTE -> target.put(source.get(at));
            // torch reads any non-zero byte as true; store 1 so DJL sees a canonical bool.
            case BOOL -> target.put(source.get(at) == 0 ? (byte) 0 : (byte) 1);
            case HALF -> target.putFloat(HalfFloats.halfToFloat(source.getShort(at)));
            // bfloat16 is the upper half of a float32, so the widening is exact.
            case BFLOAT16 -> target.putInt((source.getShort(at) & 0xffff) << 16);
            case DOUBLE -> target.putFloat((float) source.getDouble(at));
            case SHORT -> target.putInt(source.getShort(at));
            default -> throw new IllegalStateException("no conversion for " + type);
        }
    }


    /**
     * Closes the zip file. Arrays already loaded stay valid; further {@link #load} calls fail.
     */
    @Override
    public void close() {
        closed = true;
        closeQuietly(zip);
    }

    private TensorRef tensor(String name) {
        TensorRef tensor = tensors.get(name);
        if (tensor == null) {
            throw new CheckpointException("No tensor '" + name + "' in " + path + " (" + names.size() + " tensors). "
                    + suggestions(name));
        }
        return tensor;
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

    // --- telling what a file is ---------------------------------------------------------------------

    private static byte[] head(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(32);
        } catch (IOException e) {
            throw new CheckpointException("Cannot read " + file + " (" + e + "). Check that the file is readable.", e);
        }
    }

    /** A local file header, or the end record of an empty zip. */
    private static boolean isZip(byte[] head) {
        return head.length >= 4 && head[0] == 'P' && head[1] == 'K'
                && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6));
    }

    private static CheckpointException notZip(Path file, byte[] head) {
        if (head.length == 0) {
            return new CheckpointException(file + " is empty, not a PyTorch checkpoint. Re-download it or save it again.");
        }
        // A pickle from protocol 2 on starts with PROTO; legacy torch files pickle a magic number first.
        if ((head[0] & 0xff) == 0x80) {
            int at = 2;
            if (head.length > at && (head[at] & 0xff) == 0x95) {
                at += 9; // FRAME and its 8-byte length (protocol 4 and later)
            }
            if (head.length >= at + LEGACY_MAGIC.length
                    && Arrays.equals(head, at, at + LEGACY_MAGIC.length, LEGACY_MAGIC, 0, LEGACY_MAGIC.length)) {
                return new CheckpointException(file + " is a legacy (pre-1.6) torch file (or one saved with"
                        + " _use_new_zipfile_serialization=False), which Loupe does not read; re-save it with"
                        + " torch >= 1.6 (torch.save(obj, path)) or convert it to safetensors.");
            }
            return new CheckpointException(file + " is a plain Python pickle, not a PyTorch checkpoint: torch.save"
                    + " writes a zip archive. Re-save the tensors with torch.save(obj, path) (torch >= 1.6) or convert"
                    + " them to safetensors.");
        }
        int shown = Math.min(head.length, 8);
        return new CheckpointException(file + " is not a PyTorch checkpoint: it is neither a torch.save zip archive"
                + " nor a pickle (it starts with bytes " + HexFormat.ofDelimiter(" ").formatHex(head, 0, shown)
                + "). Pass a file written by torch.save, or open .safetensors files with SafetensorsFile.");
    }

    private static CheckpointException corrupt(Path file, IOException e) {
        return corrupt(file, e, e);
    }

    private static CheckpointException corrupt(Path file, IOException e, Throwable cause) {
        return new CheckpointException(file + " is truncated or corrupt: it starts like a zip archive but cannot be"
                + " read as one (" + e.getMessage() + "). Re-download it, or re-save it with torch.save.", cause);
    }

    /** The Python type of a decoded value, with an article, for messages. */
    private static String describe(Object value) {
        if (value == null) {
            return "None";
        }
        if (value instanceof String) {
            return "a str";
        }
        if (value instanceof Long || value instanceof java.math.BigInteger) {
            return "an int";
        }
        if (value instanceof Double) {
            return "a float";
        }
        if (value instanceof Boolean) {
            return "a bool";
        }
        if (value instanceof byte[]) {
            return "bytes";
        }
        if (value instanceof List) {
            return "a tuple";
        }
        return "a " + value.getClass().getSimpleName();
    }

    private static void closeQuietly(ZipFile zip) {
        try {
            zip.close();
        } catch (IOException ignored) {
            // Nothing was written, so a failed close loses nothing.
        }
    }
}
