package dev.loupe.io.torch;

import dev.loupe.CheckpointException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle interpreter for what {@code torch.save} writes, which never runs code from the file.
 *
 * <p>A pickle is a program: its {@code GLOBAL} opcodes import any Python callable and
 * {@code REDUCE} calls it, which is how a malicious checkpoint runs {@code os.system}. Here a
 * global resolves only through a fixed allow-list of the torch globals a state dict needs, and
 * anything else fails at the {@code GLOBAL} opcode itself, before a {@code REDUCE} could use it.
 * Even allow-listed callables are never called: {@link #call} interprets them in Java, building a
 * {@link LinkedHashMap} for {@code OrderedDict} (so the state dict keeps its order) and a
 * {@link TensorRef} for {@code _rebuild_tensor_v2}. {@code BUILD} (Python's {@code __setstate__})
 * is ignored, and opcodes this reader does not implement fail with their name.
 *
 * <p>The work is bounded as well as the globals, because a pickle can share objects: a memo
 * reference ({@code BINGET}, {@code GET}) or {@code DUP} puts an object already built into another
 * one, so 250 bytes can describe a list holding a list twice, 60 levels deep (a "billion laughs"),
 * which anything walking the result as a tree (naming the tensors) would take 2^60 steps over.
 * So the reader counts the objects it builds and the elements it copies ({@link #MAX_OBJECTS}),
 * and before returning it walks the result once, following every shared reference at the price of
 * everything it expands to: the expanded size must stay under {@link #MAX_OBJECTS}, the nesting
 * under {@link #MAX_DEPTH}, and tensors may only be dict values or list and tuple items, which is
 * where {@code torch.save} puts them (a state dict, nested dicts of optimizer state, lists).
 *
 * <p>Decoded values: {@code str} as String, {@code int} as Long (BigInteger beyond 64 bits),
 * {@code float} as Double, {@code bytes} as byte[], {@code None} as null, tuples as unmodifiable
 * Lists, lists as ArrayLists, dicts as LinkedHashMaps (non-scalar keys wrapped as {@link OpaqueKey}),
 * sets as {@link PySet}s.
 */
final class RestrictedUnpickler {
    /** The allow-listed callables, interpreted by {@link #call}. */
    enum Callable {
        ORDERED_DICT,
        REBUILD_TENSOR_V2,
        REBUILD_PARAMETER,
        REBUILD_PARAMETER_WITH_STATE
    }

    /** "module name" → a {@link Callable} or a {@link StorageType}; nothing else can be imported. */
    private static final Map<String, Object> ALLOWED = allowed();

    /** Python's own limit; newer protocols may add opcodes this reader would misread. */
    private static final int HIGHEST_PROTOCOL = 5;

    /** Longest GLOBAL / INST name line read, so a missing newline cannot make a huge string. */
    private static final int MAX_LINE = 1024;

    /** Longest name quoted in a message. */
    private static final int MAX_SHOWN_NAME = 200;

    /**
     * Most objects a pickle may build (each opcode counts one, each element copied out of an
     * existing container one more), and most objects its result may hold once every shared
     * reference is followed. A state dict takes about 20 per tensor, so this admits a million
     * tensors, far more than any checkpoint file holds.
     */
    static final long MAX_OBJECTS = 20_000_000;

    /**
     * Deepest nesting of containers in the result. A state dict is 1 level deep, optimizer state
     * in a training checkpoint 3 or 4 ({@code {"state": {0: {"exp_avg": tensor}}}}).
     */
    static final int MAX_DEPTH = 64;

    private final byte[] data;
    private final String source;
    private int pos;
    private final ArrayList<Object> stack = new ArrayList<>();
    /** Stack heights at each MARK, innermost last. */
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    /** Objects built and elements copied so far, against {@link #MAX_OBJECTS}. */
    private long objects;

    private RestrictedUnpickler(byte[] data, String source) {
        this.data = data;
        this.source = source;
    }

    /**
     * Interprets a pickle.
     *
     * @param data the whole pickle
     * @param source where it came from, for error messages (e.g. the file and entry name)
     * @return the pickled object
     * @throws CheckpointException if the pickle asks for a global outside the allow-list, uses an
     *     opcode this reader does not implement, is truncated, or is not shaped like a state dict
     */
    static Object load(byte[] data, String source) {
        return new RestrictedUnpickler(data, source).run();
    }

    private static Map<String, Object> allowed() {
        Map<String, Object> allowed = new HashMap<>();
        allowed.put("collections OrderedDict", Callable.ORDERED_DICT);
        allowed.put("torch._utils _rebuild_tensor_v2", Callable.REBUILD_TENSOR_V2);
        allowed.put("torch._utils _rebuild_parameter", Callable.REBUILD_PARAMETER);
        allowed.put("torch._utils _rebuild_parameter_with_state", Callable.REBUILD_PARAMETER_WITH_STATE);
        for (StorageType type : StorageType.values()) {
            allowed.put("torch " + type.className, type);
        }
        return Map.copyOf(allowed);
    }

    private Object run() {
        while (true) {
            int at = pos;
            int op = u8("an opcode");
            charge(1, at);
            switch (op) {
                case Op.PROTO -> {
                    int protocol = u8("the protocol number");
                    if (protocol > HIGHEST_PROTOCOL) {
                        throw malformed(at, "uses pickle protocol " + protocol + "; Loupe reads protocols up to "
                                + HIGHEST_PROTOCOL + " (torch.save writes 2)");
                    }
                }
                case Op.FRAME -> skip(8, "a FRAME length"); // framing only groups opcodes for buffered I/O
                case Op.STOP -> {
                    Object result = pop(at);
                    checkShape(result);
                    return result;
                }
                case Op.MARK -> marks.add(stack.size());
                case Op.POP -> {
                    if (!marks.isEmpty() && marks.get(marks.size() - 1) == stack.size()) {
                        // Python's POP discards a mark when one is on top; keep the same meaning.
                        marks.remove(marks.size() - 1);
                    } else {
                        pop(at);
                    }
                }
                case Op.POP_MARK -> popMark(at);
                case Op.DUP -> stack.add(peek(at));

                case Op.NONE -> stack.add(null);
                case Op.NEWTRUE -> stack.add(Boolean.TRUE);
                case Op.NEWFALSE -> stack.add(Boolean.FALSE);
                case Op.BININT -> stack.add((long) buffer(4, "a BININT").getInt());
                case Op.BININT1 -> stack.add((long) u8("a BININT1"));
                case Op.BININT2 -> stack.add((long) (buffer(2, "a BININT2").getShort() & 0xffff));
                case Op.LONG1 -> stack.add(longBytes(u8("a LONG1 length"), at));
                case Op.LONG4 -> stack.add(longBytes(length(buffer(4, "a LONG4 length").getInt() & 0xffffffffL, at), at));
                case Op.INT -> stack.add(textInt(line(at), at));
                case Op.LONG -> stack.add(textLong(line(at), at));
                case Op.BINFLOAT -> stack.add(buffer(8, "a BINFLOAT").order(ByteOrder.BIG_ENDIAN).getDouble());
                case Op.FLOAT -> stack.add(textFloat(line(at), at));

                case Op.SHORT_BINUNICODE -> stack.add(utf8(u8("a string length"), at));
                case Op.BINUNICODE -> stack.add(utf8(length(buffer(4, "a string length").getInt() & 0xffffffffL, at), at));
                case Op.BINUNICODE8 -> stack.add(utf8(length(buffer(8, "a string length").getLong(), at), at));
                case Op.SHORT_BINSTRING -> stack.add(latin1(u8("a string length"), at));
                case Op.BINSTRING -> stack.add(latin1(length(buffer(4, "a string length").getInt(), at), at));
                case Op.SHORT_BINBYTES -> stack.add(bytes(u8("a bytes length"), at));
                case Op.BINBYTES -> stack.add(bytes(length(buffer(4, "a bytes length").getInt() & 0xffffffffL, at), at));
                case Op.BINBYTES8, Op.BYTEARRAY8 -> stack.add(bytes(length(buffer(8, "a bytes length").getLong(), at), at));

                case Op.EMPTY_TUPLE -> stack.add(tuple());
                case Op.TUPLE -> stack.add(tuple(popMark(at).toArray()));
                case Op.TUPLE1 -> stack.add(tuple(pop(at)));
                case Op.TUPLE2 -> {
                    Object b = pop(at);
                    stack.add(tuple(pop(at), b));
                }
                case Op.TUPLE3 -> {
                    Object c = pop(at);
                    Object b = pop(at);
                    stack.add(tuple(pop(at), b, c));
                }
                case Op.EMPTY_LIST -> stack.add(new ArrayList<>());
                case Op.LIST -> stack.add(new ArrayList<>(popMark(at)));
                case Op.APPEND -> {
                    Object item = pop(at);
                    list(peek(at), at).add(item);
                }
                case Op.APPENDS -> {
                    List<Object> items = popMark(at);
                    list(peek(at), at).addAll(items);
                }
                case Op.EMPTY_DICT -> stack.add(new LinkedHashMap<>());
                case Op.DICT -> {
                    Map<Object, Object> dict = new LinkedHashMap<>();
                    putPairs(dict, popMark(at), at);
                    stack.add(dict);
                }
                case Op.SETITEM -> {
                    Object value = pop(at);
                    Object key = pop(at);
                    dict(peek(at), at).put(key(key), value);
                }
                case Op.SETITEMS -> {
                    List<Object> items = popMark(at);
                    putPairs(dict(peek(at), at), items, at);
                }
                case Op.EMPTY_SET -> stack.add(new PySet(new ArrayList<>()));
                case Op.ADDITEMS -> {
                    List<Object> items = popMark(at);
                    set(peek(at), at).items().addAll(items);
                }
                case Op.FROZENSET -> stack.add(new PySet(popMark(at)));

                case Op.PUT -> memo.put(textIndex(line(at), at), peek(at));
                case Op.BINPUT -> memo.put((long) u8("a memo index"), peek(at));
                case Op.LONG_BINPUT -> memo.put(buffer(4, "a memo index").getInt() & 0xffffffffL, peek(at));
                case Op.MEMOIZE -> memo.put((long) memo.size(), peek(at));
                case Op.GET -> stack.add(memoGet(textIndex(line(at), at), at));
                case Op.BINGET -> stack.add(memoGet(u8("a memo index"), at));
                case Op.LONG_BINGET -> stack.add(memoGet(buffer(4, "a memo index").getInt() & 0xffffffffL, at));

                case Op.GLOBAL -> {
                    String module = line(at);
                    String name = line(at);
                    stack.add(resolve(module, name));
                }
                case Op.STACK_GLOBAL -> {
                    Object name = pop(at);
                    Object module = pop(at);
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw malformed(at, "STACK_GLOBAL needs two strings, got " + kind(module) + " and " + kind(name));
                    }
                    stack.add(resolve(m, n));
                }
                case Op.INST -> {
                    // Protocol 0's "import and call": resolved through the same allow-list.
                    Object callable = resolve(line(at), line(at));
                    stack.add(call(callable, popMark(at), at));
                }
                case Op.OBJ -> {
                    List<Object> items = popMark(at);
                    if (items.isEmpty()) {
                        throw malformed(at, "OBJ without a class");
                    }
                    stack.add(call(items.get(0), items.subList(1, items.size()), at));
                }
                case Op.REDUCE, Op.NEWOBJ -> {
                    Object args = pop(at);
                    Object callable = pop(at);
                    stack.add(call(callable, arguments(args, at), at));
                }
                case Op.NEWOBJ_EX -> {
                    Object kwargs = pop(at);
                    Object args = pop(at);
                    Object callable = pop(at);
                    if (kwargs instanceof Map<?, ?> map && !map.isEmpty()) {
                        throw malformed(at, "NEWOBJ_EX passes " + map.size()
                                + " keyword arguments, which no allowed torch global takes");
                    }
                    stack.add(call(callable, arguments(args, at), at));
                }
                case Op.BUILD -> {
                    // Python would call __setstate__ or update __dict__. For an OrderedDict the state
                    // is attributes such as state_dict()'s _metadata, for a Parameter its Python
                    // attributes; neither is a tensor value, so it is dropped.
                    pop(at);
                    peek(at);
                }
                case Op.BINPERSID -> stack.add(persistentLoad(pop(at), at));
                default -> throw unsupported(op, at);
            }
        }
    }

    /** Looks a global up in the allow-list; anything else stops the load here, before it can be called. */
    private Object resolve(String module, String name) {
        Object allowed = ALLOWED.get(module + " " + name);
        if (allowed != null) {
            return allowed;
        }
        String why = "torch.storage".equals(module) && "_load_from_bytes".equals(name)
                ? " That global is torch's legacy path that unpickles nested data, which could run code."
                : "";
        throw new CheckpointException(source + " refuses to load: the pickle asks for global '"
                + printable(module + " " + name) + "' (only tensor-rebuild globals are allowed; this file may try"
                + " to run code)." + why + " Loupe never runs code from a checkpoint. If the file comes from a"
                + " source you trust, convert it to safetensors in Python (safetensors.torch.save_file).");
    }

    /** Interprets an allow-listed callable; nothing is ever called. */
    private Object call(Object callable, List<Object> args, int at) {
        if (!(callable instanceof Callable function)) {
            String what = callable instanceof StorageType type ? "torch." + type.className : kind(callable);
            throw malformed(at, "calls " + what + ", which is not a callable that torch.save emits");
        }
        return switch (function) {
            case ORDERED_DICT -> orderedDict(args, at);
            case REBUILD_TENSOR_V2 -> rebuildTensor(args, at);
            case REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE -> {
                // (data, requires_grad, backward_hooks[, state]): a Parameter is its tensor.
                if (args.isEmpty() || !(args.get(0) instanceof TensorRef tensor)) {
                    throw malformed(at, "_rebuild_parameter needs a tensor as its first argument, got "
                            + (args.isEmpty() ? "no arguments" : kind(args.get(0))));
                }
                yield tensor;
            }
        };
    }

    private Map<Object, Object> orderedDict(List<Object> args, int at) {
        Map<Object, Object> dict = new LinkedHashMap<>();
        if (args.isEmpty()) {
            return dict;
        }
        if (args.size() == 1 && args.get(0) instanceof Map<?, ?> map) {
            charge(map.size(), at);
            dict.putAll(map);
            return dict;
        }
        if (args.size() == 1 && args.get(0) instanceof List<?> pairs) {
            charge(pairs.size(), at);
            for (Object pair : pairs) {
                if (!(pair instanceof List<?> kv) || kv.size() != 2) {
                    throw malformed(at, "OrderedDict needs (key, value) pairs, got " + kind(pair));
                }
                dict.put(key(kv.get(0)), kv.get(1));
            }
            return dict;
        }
        throw malformed(at, "OrderedDict called with " + args.size() + " arguments");
    }

    /**
     * {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
     * backward_hooks[, metadata])}: only the first four matter for the values.
     */
    private TensorRef rebuildTensor(List<Object> args, int at) {
        if (args.size() < 4) {
            throw malformed(at, "_rebuild_tensor_v2 needs at least 4 arguments (storage, offset, size, stride), got "
                    + args.size());
        }
        if (!(args.get(0) instanceof StorageRef storage)) {
            throw malformed(at, "_rebuild_tensor_v2 needs a storage as its first argument, got " + kind(args.get(0)));
        }
        long offset = integer(args.get(1), "the storage offset", at);
        long[] size = integers(args.get(2), "the size", at);
        long[] stride = integers(args.get(3), "the stride", at);
        if (size.length != stride.length) {
            throw malformed(at, "a tensor has size " + Arrays.toString(size) + " but stride " + Arrays.toString(stride)
                    + " (their lengths differ)");
        }
        if (offset < 0 || Arrays.stream(size).anyMatch(s -> s < 0) || Arrays.stream(stride).anyMatch(s -> s < 0)) {
            throw malformed(at, "a tensor has a negative size, stride or offset (size " + Arrays.toString(size)
                    + ", stride " + Arrays.toString(stride) + ", offset " + offset + ")");
        }
        TensorRef tensor = new TensorRef(storage, offset, size, stride);
        try {
            // Checked once here, so the layout arithmetic elsewhere cannot overflow.
            long numel = 1;
            for (long s : size) {
                numel = Math.multiplyExact(numel, s);
            }
            if (numel > 0) {
                Math.multiplyExact(Math.addExact(Math.addExact(offset, tensor.lastIndex()), 1), (long) storage.type().bytes);
            }
        } catch (ArithmeticException e) {
            throw malformed(at, "a tensor's size " + Arrays.toString(size) + ", stride " + Arrays.toString(stride)
                    + " and offset " + offset + " overflow 64 bits");
        }
        return tensor;
    }

    /** {@code ('storage', torch.FloatStorage, key, location, numel)}; the location is ignored. */
    private StorageRef persistentLoad(Object pid, int at) {
        if (!(pid instanceof List<?> id) || id.size() != 5 || !"storage".equals(id.get(0))) {
            throw malformed(at, "has a persistent id " + shortText(pid) + " that is not a torch storage reference"
                    + " ('storage', type, key, location, numel)");
        }
        if (!(id.get(1) instanceof StorageType type)) {
            throw malformed(at, "has a storage whose type is " + kind(id.get(1)) + ", not a torch storage class");
        }
        Object key = id.get(2);
        if (!(key instanceof String || key instanceof Long)) {
            throw malformed(at, "has a storage key of type " + kind(key) + " (expected a string)");
        }
        long numel = integer(id.get(4), "a storage's element count", at);
        return new StorageRef(type, key.toString(), numel);
    }

    // --- bounds on the work ------------------------------------------------------------------------

    /** Counts {@code n} objects built or copied at the opcode at byte {@code at}. */
    private void charge(long n, int at) {
        objects += n;
        if (objects > MAX_OBJECTS) {
            throw new CheckpointException(source + " refuses to load: by the opcode at byte " + at + " its pickle has"
                    + " built or copied more than " + MAX_OBJECTS + " objects, Loupe's limit for a checkpoint (a"
                    + " state dict takes about 20 per tensor). The file is corrupt or made to exhaust the reader;"
                    + " if it is a real checkpoint, convert it to safetensors in Python.");
        }
    }

    /**
     * Walks the result once, as a graph: each container's expanded size (itself plus everything
     * in it, shared parts counted every time they are referenced) is computed once and reused, so
     * the walk is linear in the pickle while the sizes it checks are what a tree walk would visit.
     */
    private void checkShape(Object root) {
        List<Map<Object, Long>> sizes = List.of(new IdentityHashMap<>(), new IdentityHashMap<>());
        expandedSize(root, 0, false, sizes, Collections.newSetFromMap(new IdentityHashMap<>()));
    }

    /**
     * The number of objects {@code value} holds with every reference followed, 1 for a scalar or
     * a tensor; a container that contains itself counts its inner occurrence once, as the
     * flattening skips it.
     *
     * @param hidden whether {@code value} is inside a dict key or a set, where a tensor has no name
     * @param sizes the sizes known so far, of containers seen outside keys and sets, then inside
     */
    private long expandedSize(Object value, int depth, boolean hidden, List<Map<Object, Long>> sizes,
            Set<Object> onPath) {
        if (value instanceof TensorRef) {
            if (hidden) {
                throw new CheckpointException(source + " refuses to load: it holds a tensor inside a dict key or a"
                        + " set, where torch.save never puts one (a state dict maps names to tensors, in dicts and"
                        + " lists). The file is corrupt or was not written by torch.save.");
            }
            return 1;
        }
        if (value instanceof OpaqueKey key) {
            return expandedSize(key.value, depth, true, sizes, onPath);
        }
        boolean container = value instanceof Map || value instanceof List || value instanceof PySet;
        if (!container || onPath.contains(value)) {
            return 1;
        }
        Map<Object, Long> known = sizes.get(hidden ? 1 : 0);
        Long size = known.get(value);
        if (size != null) {
            return size;
        }
        if (depth >= MAX_DEPTH) {
            throw new CheckpointException(source + " refuses to load: it nests containers more than " + MAX_DEPTH
                    + " levels deep, Loupe's limit (a state dict is 1 level deep, a training checkpoint's optimizer"
                    + " state 3 or 4). The file is corrupt or made to exhaust the reader; save model.state_dict()"
                    + " with torch.save.");
        }
        onPath.add(value);
        long total = 1;
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                total = add(total, expandedSize(entry.getKey(), depth + 1, true, sizes, onPath));
                total = add(total, expandedSize(entry.getValue(), depth + 1, hidden, sizes, onPath));
            }
        } else if (value instanceof PySet set) {
            for (Object item : set.items()) {
                total = add(total, expandedSize(item, depth + 1, true, sizes, onPath));
            }
        } else {
            for (Object item : (List<?>) value) {
                total = add(total, expandedSize(item, depth + 1, hidden, sizes, onPath));
            }
        }
        onPath.remove(value);
        known.put(value, total);
        return total;
    }

    /** Adds to an expanded size, failing as soon as it passes the limit (so the walk stops early). */
    private long add(long total, long more) {
        long sum = total + more;
        if (sum > MAX_OBJECTS) {
            throw new CheckpointException(source + " refuses to load: it refers back to objects it already built"
                    + " (pickle memo references) so often that the saved object, with every reference followed,"
                    + " holds more than " + MAX_OBJECTS + " objects, Loupe's limit (a state dict holds about 3 per"
                    + " tensor). A torch.save checkpoint is a tree of names and tensors; this file is corrupt or made"
                    + " to exhaust the reader (a \"billion laughs\" pickle).");
        }
        return sum;
    }

    // --- stack and container helpers ---------------------------------------------------------------

    private Object pop(int at) {
        if (stack.isEmpty() || (!marks.isEmpty() && marks.get(marks.size() - 1) == stack.size())) {
            throw malformed(at, "pops from an empty stack");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek(int at) {
        if (stack.isEmpty() || (!marks.isEmpty() && marks.get(marks.size() - 1) == stack.size())) {
            throw malformed(at, "reads from an empty stack");
        }
        return stack.get(stack.size() - 1);
    }

    /** Removes and returns the items above the innermost MARK, and the mark. */
    private List<Object> popMark(int at) {
        if (marks.isEmpty()) {
            throw malformed(at, "needs a MARK that is not there");
        }
        int start = marks.remove(marks.size() - 1);
        List<Object> top = stack.subList(start, stack.size());
        List<Object> items = new ArrayList<>(top);
        top.clear();
        return items;
    }

    private Object memoGet(long index, int at) {
        if (!memo.containsKey(index)) {
            throw malformed(at, "reads memo entry " + index + ", which was never stored");
        }
        return memo.get(index);
    }

    private static List<Object> tuple(Object... items) {
        return Collections.unmodifiableList(Arrays.asList(items));
    }

    private List<Object> arguments(Object args, int at) {
        if (args instanceof List<?> list) {
            @SuppressWarnings("unchecked")
            List<Object> objects = (List<Object>) list;
            return objects;
        }
        throw malformed(at, "passes " + kind(args) + " as call arguments instead of a tuple");
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object target, int at) {
        if (target instanceof ArrayList<?> list) {
            return (List<Object>) list;
        }
        throw malformed(at, "appends to " + kind(target) + ", not a list");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object target, int at) {
        if (target instanceof LinkedHashMap<?, ?> map) {
            return (Map<Object, Object>) map;
        }
        throw malformed(at, "sets an item on " + kind(target) + ", not a dict");
    }

    private PySet set(Object target, int at) {
        if (target instanceof PySet set) {
            return set;
        }
        throw malformed(at, "adds items to " + kind(target) + ", not a set");
    }

    /**
     * A dict key as stored: scalars as themselves, anything else (a tuple, bytes) wrapped with
     * identity equality. Hashing a container would recurse through it, and a pickle can build a
     * tuple that contains itself (through a list), which would overflow the Java stack.
     */
    private static Object key(Object key) {
        if (key == null || key instanceof String || key instanceof Long || key instanceof BigInteger
                || key instanceof Double || key instanceof Boolean) {
            return key;
        }
        return new OpaqueKey(key);
    }

    /** A dict key that is not a scalar; it compares by identity and never names a tensor. */
    static final class OpaqueKey {
        final Object value;

        OpaqueKey(Object value) {
            this.value = value;
        }
    }

    /**
     * A set or frozenset, kept as a plain list: its items are never hashed, for the same reason as
     * {@link #key}, and no state dict needs set semantics.
     */
    record PySet(List<Object> items) {}

    private void putPairs(Map<Object, Object> dict, List<Object> items, int at) {
        if (items.size() % 2 != 0) {
            throw malformed(at, "has a dict with an odd number of keys and values (" + items.size() + ")");
        }
        for (int i = 0; i < items.size(); i += 2) {
            dict.put(key(items.get(i)), items.get(i + 1));
        }
    }

    private long integer(Object value, String what, int at) {
        if (value instanceof Long number) {
            return number;
        }
        throw malformed(at, "has " + kind(value) + " as " + what + " (expected an int)");
    }

    private long[] integers(Object value, String what, int at) {
        if (!(value instanceof List<?> list)) {
            throw malformed(at, "has " + kind(value) + " as " + what + " (expected a tuple of ints)");
        }
        charge(list.size(), at);
        long[] result = new long[list.size()];
        for (int i = 0; i < result.length; i++) {
            result[i] = integer(list.get(i), what, at);
        }
        return result;
    }

    // --- reading the byte stream ------------------------------------------------------------------

    private void need(int n, String what) {
        if (n > data.length - pos) {
            throw new CheckpointException(source + " is truncated: the pickle ends at byte " + data.length
                    + " while reading " + what + ". The file is corrupt; re-download or re-save it.");
        }
    }

    private int u8(String what) {
        need(1, what);
        return data[pos++] & 0xff;
    }

    private void skip(int n, String what) {
        need(n, what);
        pos += n;
    }

    /** The next {@code n} bytes as a little-endian buffer, consumed. */
    private ByteBuffer buffer(int n, String what) {
        need(n, what);
        ByteBuffer buffer = ByteBuffer.wrap(data, pos, n).slice().order(ByteOrder.LITTLE_ENDIAN);
        pos += n;
        return buffer;
    }

    /** Checks a length read from the file before anything is allocated for it. */
    private int length(long length, int at) {
        if (length < 0 || length > data.length - pos) {
            throw new CheckpointException(source + " is truncated or corrupt: the opcode at byte " + at
                    + " declares " + length + " bytes but only " + (data.length - pos)
                    + " remain. Re-download or re-save the file.");
        }
        return (int) length;
    }

    private String utf8(int n, int at) {
        length(n, at);
        String text = new String(data, pos, n, StandardCharsets.UTF_8);
        pos += n;
        return text;
    }

    private String latin1(int n, int at) {
        length(n, at);
        String text = new String(data, pos, n, StandardCharsets.ISO_8859_1);
        pos += n;
        return text;
    }

    private byte[] bytes(int n, int at) {
        length(n, at);
        byte[] bytes = Arrays.copyOfRange(data, pos, pos + n);
        pos += n;
        return bytes;
    }

    /** LONG1 / LONG4: little-endian two's complement, as a Long where it fits. */
    private Object longBytes(int n, int at) {
        length(n, at);
        if (n == 0) {
            return 0L;
        }
        byte[] bigEndian = new byte[n];
        for (int i = 0; i < n; i++) {
            bigEndian[i] = data[pos + n - 1 - i];
        }
        pos += n;
        BigInteger value = new BigInteger(bigEndian);
        return value.bitLength() < 64 ? (Object) value.longValue() : value;
    }

    /** A newline-terminated line of the text opcodes (GLOBAL, INT, PUT...), without the newline. */
    private String line(int at) {
        int end = pos;
        while (end < data.length && data[end] != '\n') {
            if (end - pos >= MAX_LINE) {
                throw malformed(at, "has a text argument longer than " + MAX_LINE + " bytes");
            }
            end++;
        }
        if (end >= data.length) {
            throw new CheckpointException(source + " is truncated: the pickle ends inside the opcode at byte " + at
                    + ". The file is corrupt; re-download or re-save it.");
        }
        String text = new String(data, pos, end - pos, StandardCharsets.UTF_8);
        pos = end + 1;
        return text;
    }

    private Object textInt(String text, int at) {
        // Protocol 0 spells True and False as I01 and I00.
        if ("01".equals(text)) {
            return Boolean.TRUE;
        }
        if ("00".equals(text)) {
            return Boolean.FALSE;
        }
        return textLong(text, at);
    }

    private Object textLong(String text, int at) {
        String digits = text.endsWith("L") ? text.substring(0, text.length() - 1) : text;
        try {
            BigInteger value = new BigInteger(digits);
            return value.bitLength() < 64 ? (Object) value.longValue() : value;
        } catch (NumberFormatException e) {
            throw malformed(at, "has an integer '" + printable(text) + "' that does not parse");
        }
    }

    private double textFloat(String text, int at) {
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw malformed(at, "has a float '" + printable(text) + "' that does not parse");
        }
    }

    private long textIndex(String text, int at) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw malformed(at, "has a memo index '" + printable(text) + "' that does not parse");
        }
    }

    // --- messages ---------------------------------------------------------------------------------

    private CheckpointException malformed(int at, String problem) {
        return new CheckpointException(source + " is not a valid torch.save pickle: the opcode at byte " + at + " "
                + problem + ". The file is corrupt or was not written by torch.save; re-save it with torch.save"
                + " or convert it to safetensors.");
    }

    private CheckpointException unsupported(int op, int at) {
        String name = Op.name(op);
        String opcode = name == null
                ? "an unknown pickle opcode " + hex(op)
                : "the pickle opcode " + name + " (" + hex(op) + "), which Loupe does not support";
        return new CheckpointException(source + " cannot be read: byte " + at + " is " + opcode
                + ". The file is corrupt or was not written by torch.save; re-save it with torch.save(obj, path)"
                + " or convert it to safetensors.");
    }

    private static String hex(int op) {
        return String.format("0x%02x", op);
    }

    /** A short description of a decoded value's type, for messages. */
    private static String kind(Object value) {
        if (value == null) {
            return "None";
        }
        if (value instanceof Callable callable) {
            return "the global " + callable;
        }
        if (value instanceof StorageType type) {
            return "torch." + type.className;
        }
        if (value instanceof String) {
            return "a str";
        }
        if (value instanceof Long || value instanceof BigInteger) {
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
        if (value instanceof TensorRef) {
            return "a tensor";
        }
        if (value instanceof StorageRef) {
            return "a storage";
        }
        if (value instanceof Map) {
            return "a dict";
        }
        if (value instanceof ArrayList) {
            return "a list";
        }
        if (value instanceof List) {
            return "a tuple";
        }
        if (value instanceof PySet) {
            return "a set";
        }
        return value.getClass().getSimpleName();
    }

    private static String shortText(Object value) {
        return value instanceof List<?> list ? "(a tuple of " + list.size() + ")" : kind(value);
    }

    /** Escapes control characters and caps the length, so a hostile name cannot garble a log. */
    static String printable(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && out.length() < MAX_SHOWN_NAME; i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        if (out.length() >= MAX_SHOWN_NAME) {
            out.append("...");
        }
        return out.toString();
    }

    /** Pickle opcodes (Python's {@code pickletools}), and names for the ones refused. */
    static final class Op {
        private Op() {}

        static final int MARK = '(';
        static final int STOP = '.';
        static final int POP = '0';
        static final int POP_MARK = '1';
        static final int DUP = '2';
        static final int FLOAT = 'F';
        static final int INT = 'I';
        static final int BININT = 'J';
        static final int BININT1 = 'K';
        static final int LONG = 'L';
        static final int BININT2 = 'M';
        static final int NONE = 'N';
        static final int PERSID = 'P';
        static final int BINPERSID = 'Q';
        static final int REDUCE = 'R';
        static final int STRING = 'S';
        static final int BINSTRING = 'T';
        static final int SHORT_BINSTRING = 'U';
        static final int UNICODE = 'V';
        static final int BINUNICODE = 'X';
        static final int APPEND = 'a';
        static final int BUILD = 'b';
        static final int GLOBAL = 'c';
        static final int DICT = 'd';
        static final int EMPTY_DICT = '}';
        static final int APPENDS = 'e';
        static final int GET = 'g';
        static final int BINGET = 'h';
        static final int INST = 'i';
        static final int LONG_BINGET = 'j';
        static final int LIST = 'l';
        static final int EMPTY_LIST = ']';
        static final int OBJ = 'o';
        static final int PUT = 'p';
        static final int BINPUT = 'q';
        static final int LONG_BINPUT = 'r';
        static final int SETITEM = 's';
        static final int TUPLE = 't';
        static final int EMPTY_TUPLE = ')';
        static final int SETITEMS = 'u';
        static final int BINFLOAT = 'G';
        static final int PROTO = 0x80;
        static final int NEWOBJ = 0x81;
        static final int EXT1 = 0x82;
        static final int EXT2 = 0x83;
        static final int EXT4 = 0x84;
        static final int TUPLE1 = 0x85;
        static final int TUPLE2 = 0x86;
        static final int TUPLE3 = 0x87;
        static final int NEWTRUE = 0x88;
        static final int NEWFALSE = 0x89;
        static final int LONG1 = 0x8a;
        static final int LONG4 = 0x8b;
        static final int BINBYTES = 'B';
        static final int SHORT_BINBYTES = 'C';
        static final int SHORT_BINUNICODE = 0x8c;
        static final int BINUNICODE8 = 0x8d;
        static final int BINBYTES8 = 0x8e;
        static final int EMPTY_SET = 0x8f;
        static final int ADDITEMS = 0x90;
        static final int FROZENSET = 0x91;
        static final int NEWOBJ_EX = 0x92;
        static final int STACK_GLOBAL = 0x93;
        static final int MEMOIZE = 0x94;
        static final int FRAME = 0x95;
        static final int BYTEARRAY8 = 0x96;
        static final int NEXT_BUFFER = 0x97;
        static final int READONLY_BUFFER = 0x98;

        /** Names of real opcodes that this reader refuses; null for bytes that are no opcode. */
        static String name(int op) {
            return switch (op) {
                case PERSID -> "PERSID";
                case STRING -> "STRING";
                case UNICODE -> "UNICODE";
                case EXT1 -> "EXT1";
                case EXT2 -> "EXT2";
                case EXT4 -> "EXT4";
                case NEXT_BUFFER -> "NEXT_BUFFER";
                case READONLY_BUFFER -> "READONLY_BUFFER";
                default -> null;
            };
        }
    }
}
