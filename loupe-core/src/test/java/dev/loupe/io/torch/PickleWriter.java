package dev.loupe.io.torch;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A minimal pickle writer for tests: each method appends one opcode (or the opcodes torch.save
 * writes for one tensor), so a test can build exactly the stream it wants, malicious ones included.
 */
final class PickleWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A tensor as {@code _rebuild_tensor_v2} describes it; {@code storageClass} is e.g. "FloatStorage". */
    record Spec(String storageClass, String key, String location, long numel, long offset, long[] size,
            long[] stride) {
        static Spec of(String storageClass, String key, long numel, long offset, long[] size, long[] stride) {
            return new Spec(storageClass, key, "cpu", numel, offset, size, stride);
        }

        /** A C-order tensor that fills storage {@code key} from its start. */
        static Spec contiguous(String storageClass, String key, long... size) {
            long[] stride = new long[size.length];
            long numel = 1;
            for (int d = size.length - 1; d >= 0; d--) {
                stride[d] = numel;
                numel *= size[d];
            }
            return new Spec(storageClass, key, "cpu", numel, 0, size, stride);
        }
    }

    /** {@code OrderedDict} of tensors in map order, as torch.save writes a state dict (protocol 2). */
    static byte[] stateDict(Map<String, Spec> tensors) {
        PickleWriter w = new PickleWriter().proto(2).global("collections", "OrderedDict").emptyTuple().reduce();
        w.mark();
        tensors.forEach((name, spec) -> w.str(name).tensor(spec));
        return w.setItems().stop().bytes();
    }

    PickleWriter op(int code) {
        out.write(code);
        return this;
    }

    PickleWriter raw(byte... bytes) {
        out.writeBytes(bytes);
        return this;
    }

    PickleWriter proto(int version) {
        return op(0x80).op(version);
    }

    PickleWriter frame(long length) {
        op(0x95);
        return raw(le(8).putLong(length).array());
    }

    PickleWriter global(String module, String name) {
        op('c');
        return raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Pushes both names as strings, then STACK_GLOBAL (protocol 4). */
    PickleWriter stackGlobal(String module, String name) {
        return shortStr(module).memoize().shortStr(name).memoize().op(0x93);
    }

    /** BINUNICODE. */
    PickleWriter str(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        op('X');
        raw(le(4).putInt(bytes.length).array());
        return raw(bytes);
    }

    /** SHORT_BINUNICODE (protocol 4). */
    PickleWriter shortStr(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        op(0x8c).op(bytes.length);
        return raw(bytes);
    }

    /** SHORT_BINBYTES / BINBYTES (protocol 3). */
    PickleWriter bytes(byte[] bytes) {
        if (bytes.length < 256) {
            op('C').op(bytes.length);
        } else {
            op('B').raw(le(4).putInt(bytes.length).array());
        }
        return raw(bytes);
    }

    /** The shortest integer opcode, as Python's pickler chooses it. */
    PickleWriter integer(long value) {
        if (value >= 0 && value < 0x100) {
            return op('K').op((int) value);
        }
        if (value >= 0 && value < 0x10000) {
            return op('M').raw(le(2).putShort((short) value).array());
        }
        if (value == (int) value) {
            return op('J').raw(le(4).putInt((int) value).array());
        }
        byte[] bytes = le(8).putLong(value).array();
        int n = 8;
        // Drop redundant sign bytes, keeping two's complement.
        while (n > 1 && ((bytes[n - 1] == 0 && bytes[n - 2] >= 0) || (bytes[n - 1] == -1 && bytes[n - 2] < 0))) {
            n--;
        }
        op(0x8a).op(n);
        out.write(bytes, 0, n);
        return this;
    }

    PickleWriter binFloat(double value) {
        op('G');
        return raw(ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putDouble(value).array());
    }

    PickleWriter bool(boolean value) {
        return op(value ? 0x88 : 0x89);
    }

    PickleWriter none() {
        return op('N');
    }

    PickleWriter mark() {
        return op('(');
    }

    /** TUPLE from the last MARK. */
    PickleWriter tuple() {
        return op('t');
    }

    PickleWriter tuple1() {
        return op(0x85);
    }

    PickleWriter tuple2() {
        return op(0x86);
    }

    PickleWriter emptyTuple() {
        return op(')');
    }

    PickleWriter emptyDict() {
        return op('}');
    }

    PickleWriter emptyList() {
        return op(']');
    }

    PickleWriter setItem() {
        return op('s');
    }

    PickleWriter setItems() {
        return op('u');
    }

    PickleWriter append() {
        return op('a');
    }

    PickleWriter reduce() {
        return op('R');
    }

    PickleWriter build() {
        return op('b');
    }

    PickleWriter binPersId() {
        return op('Q');
    }

    PickleWriter binPut(int index) {
        return op('q').op(index);
    }

    PickleWriter binGet(int index) {
        return op('h').op(index);
    }

    PickleWriter memoize() {
        return op(0x94);
    }

    PickleWriter stop() {
        return op('.');
    }

    /** A tuple of ints: EMPTY_TUPLE for none, else MARK ... TUPLE. */
    PickleWriter ints(long... values) {
        if (values.length == 0) {
            return emptyTuple();
        }
        mark();
        for (long value : values) {
            integer(value);
        }
        return tuple();
    }

    /** The storage persistent id torch writes: {@code ('storage', torch.<class>, key, location, numel)}. */
    PickleWriter storage(Spec spec) {
        mark().str("storage").global("torch", spec.storageClass()).str(spec.key()).str(spec.location())
                .integer(spec.numel()).tuple();
        return binPersId();
    }

    /** {@code _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}. */
    PickleWriter tensor(Spec spec) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(spec).integer(spec.offset()).ints(spec.size()).ints(spec.stride()).bool(false);
        global("collections", "OrderedDict").emptyTuple().reduce();
        return tuple().reduce();
    }

    /** {@code _rebuild_parameter(tensor, True, OrderedDict())}, as torch.save writes an nn.Parameter. */
    PickleWriter parameter(Spec spec) {
        global("torch._utils", "_rebuild_parameter").mark();
        tensor(spec).bool(true).global("collections", "OrderedDict").emptyTuple().reduce();
        return tuple().reduce();
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
