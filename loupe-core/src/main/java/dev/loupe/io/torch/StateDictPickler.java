package dev.loupe.io.torch;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the {@code data.pkl} of a {@code torch.save(state_dict)} zip: a protocol-2 pickle of an
 * {@code OrderedDict} of {@code torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
 * False, OrderedDict())} calls, each storage a persistent id {@code ('storage', torch.FloatStorage,
 * key, 'cpu', numel)}, with the dict's {@code _metadata} (module versions) set by {@code BUILD}.
 *
 * <p>It emits the same opcodes, in the same order and with the same memo numbering, as Python's
 * pickler does for a module's state dict, so the bytes equal those of {@code torch.save}. Python
 * memoizes by object identity: the interned strings {@code 'storage'}, {@code 'cpu'} and
 * {@code 'version'} and the globals are written once and fetched afterwards, while every other
 * string and tuple is a new object with a memo slot of its own.
 */
final class StateDictPickler {
    /** One tensor as the pickle describes it: a whole storage of its own, contiguous from 0. */
    record Tensor(String name, StorageType storage, String key, long[] size) {}

    private static final int PROTO = 0x80;
    private static final int GLOBAL = 'c';
    private static final int BINPUT = 'q';
    private static final int LONG_BINPUT = 'r';
    private static final int BINGET = 'h';
    private static final int LONG_BINGET = 'j';
    private static final int EMPTY_TUPLE = ')';
    private static final int EMPTY_DICT = '}';
    private static final int REDUCE = 'R';
    private static final int MARK = '(';
    private static final int TUPLE = 't';
    private static final int TUPLE1 = 0x85;
    private static final int TUPLE2 = 0x86;
    private static final int TUPLE3 = 0x87;
    private static final int BINUNICODE = 'X';
    private static final int BININT = 'J';
    private static final int BININT1 = 'K';
    private static final int BININT2 = 'M';
    private static final int LONG1 = 0x8a;
    private static final int NEWFALSE = 0x89;
    private static final int BINPERSID = 'Q';
    private static final int SETITEM = 's';
    private static final int SETITEMS = 'u';
    private static final int BUILD = 'b';
    private static final int STOP = '.';
    /** Python's pickler writes dict items in batches of this many. */
    private static final int BATCH = 1000;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    /** Memo slots of the objects Python shares (globals and interned strings), by a name for each. */
    private final Map<String, Integer> shared = new HashMap<>();
    private int nextMemo;

    private StateDictPickler() {}

    /**
     * The pickle bytes.
     *
     * @param tensors the state dict in order
     * @param moduleVersions the state dict's {@code _metadata}: module prefix ({@code ""} for the
     *     root, {@code "0"}, …) to its {@code version}; empty for none (then there is no BUILD)
     */
    static byte[] pickle(List<Tensor> tensors, Map<String, Integer> moduleVersions) {
        StateDictPickler p = new StateDictPickler();
        p.op(PROTO);
        p.op(2);
        p.orderedDict();
        p.items(tensors.size(), i -> {
            Tensor tensor = tensors.get(i);
            p.string(tensor.name());
            p.tensor(tensor);
        });
        if (!moduleVersions.isEmpty()) {
            List<Map.Entry<String, Integer>> modules = List.copyOf(moduleVersions.entrySet());
            p.op(EMPTY_DICT);
            p.put();
            p.items(1, ignored -> {
                p.string("_metadata");
                p.orderedDict();
                p.items(modules.size(), i -> {
                    p.string(modules.get(i).getKey());
                    p.op(EMPTY_DICT);
                    p.put();
                    p.items(1, alsoIgnored -> {
                        p.sharedString("version");
                        p.integer(modules.get(i).getValue());
                    });
                });
            });
            p.op(BUILD);
        }
        p.op(STOP);
        return p.out.toByteArray();
    }

    /** {@code OrderedDict()}: the global, an empty argument tuple, REDUCE. */
    private void orderedDict() {
        sharedGlobal("collections", "OrderedDict");
        op(EMPTY_TUPLE);
        op(REDUCE);
        put();
    }

    private void tensor(Tensor tensor) {
        sharedGlobal("torch._utils", "_rebuild_tensor_v2");
        op(MARK);
        op(MARK);
        sharedString("storage");
        sharedGlobal("torch", tensor.storage().className);
        string(tensor.key());
        sharedString("cpu");
        integer(numel(tensor.size()));
        op(TUPLE);
        put();
        op(BINPERSID);
        integer(0);
        tuple(tensor.size());
        tuple(contiguousStride(tensor.size()));
        op(NEWFALSE);
        orderedDict();
        op(TUPLE);
        put();
        op(REDUCE);
        put();
    }

    /** Dict items as Python's {@code _batch_setitems}: MARK … SETITEMS per batch, one item by SETITEM. */
    private void items(int count, java.util.function.IntConsumer item) {
        for (int start = 0; start < count; start += BATCH) {
            int end = Math.min(count, start + BATCH);
            if (end - start == 1) {
                item.accept(start);
                op(SETITEM);
            } else {
                op(MARK);
                for (int i = start; i < end; i++) {
                    item.accept(i);
                }
                op(SETITEMS);
            }
        }
    }

    private void tuple(long[] values) {
        if (values.length == 0) {
            op(EMPTY_TUPLE); // Python does not memoize the empty tuple
            return;
        }
        if (values.length > 3) {
            op(MARK);
        }
        for (long v : values) {
            integer(v);
        }
        op(switch (values.length) {
            case 1 -> TUPLE1;
            case 2 -> TUPLE2;
            case 3 -> TUPLE3;
            default -> TUPLE;
        });
        put();
    }

    private void integer(long v) {
        if (v >= 0 && v <= 0xff) {
            op(BININT1);
            op((int) v);
        } else if (v >= 0 && v <= 0xffff) {
            op(BININT2);
            littleEndian(v, 2);
        } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            op(BININT);
            littleEndian(v, 4);
        } else {
            // Python's encode_long: the shortest two's-complement little-endian form.
            byte[] big = BigInteger.valueOf(v).toByteArray();
            op(LONG1);
            op(big.length);
            for (int i = big.length - 1; i >= 0; i--) {
                op(big[i] & 0xff);
            }
        }
    }

    private void string(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        op(BINUNICODE);
        littleEndian(utf8.length, 4);
        out.writeBytes(utf8);
        put();
    }

    private void sharedString(String s) {
        Integer slot = shared.get("str:" + s);
        if (slot != null) {
            get(slot);
            return;
        }
        string(s);
        shared.put("str:" + s, nextMemo - 1);
    }

    private void sharedGlobal(String module, String name) {
        Integer slot = shared.get("global:" + module + " " + name);
        if (slot != null) {
            get(slot);
            return;
        }
        op(GLOBAL);
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        put();
        shared.put("global:" + module + " " + name, nextMemo - 1);
    }

    /** Memoizes the object just written, as Python does for every memoizable object. */
    private void put() {
        int slot = nextMemo++;
        if (slot < 256) {
            op(BINPUT);
            op(slot);
        } else {
            op(LONG_BINPUT);
            littleEndian(slot, 4);
        }
    }

    private void get(int slot) {
        if (slot < 256) {
            op(BINGET);
            op(slot);
        } else {
            op(LONG_BINGET);
            littleEndian(slot, 4);
        }
    }

    private void littleEndian(long v, int bytes) {
        for (int i = 0; i < bytes; i++) {
            op((int) (v >>> (8 * i)) & 0xff);
        }
    }

    private void op(int b) {
        out.write(b);
    }

    static long numel(long[] size) {
        long n = 1;
        for (long s : size) {
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    /** C-order strides, as {@code tensor.stride()} of a contiguous tensor. */
    static long[] contiguousStride(long[] size) {
        long[] stride = new long[size.length];
        long step = 1;
        for (int d = size.length - 1; d >= 0; d--) {
            stride[d] = step;
            step *= Math.max(1, size[d]);
        }
        return stride;
    }
}
