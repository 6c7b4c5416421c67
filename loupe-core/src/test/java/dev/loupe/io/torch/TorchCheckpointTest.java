package dev.loupe.io.torch;

import static dev.loupe.io.torch.TorchZip.floats;
import static dev.loupe.io.torch.TorchZip.iota;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.CheckpointException;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.torch.PickleWriter.Spec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchCheckpointTest {
    // Surefire runs in the module directory, so the repository's testdata is one level up.
    private static final Path LENS = Path.of("..", "testdata", "lens");

    @TempDir
    Path dir;

    @Test
    void readsTheTunedLensParamsBitForBitLikeTheirSafetensorsCopy() {
        try (NDManager manager = NDManager.newBaseManager();
                TorchCheckpoint pt = TorchCheckpoint.open(LENS.resolve("params.pt"));
                SafetensorsFile st = SafetensorsFile.open(LENS.resolve("params.safetensors"))) {
            // OrderedDict order, not the sorted order of the safetensors header.
            assertThat(pt.names()).containsExactly("0.weight", "0.bias", "1.weight", "1.bias");
            assertThat(pt.shape("0.weight")).containsExactly(32, 32);
            assertThat(pt.shape("1.bias")).containsExactly(32);
            assertThat(pt.dtype("0.weight")).isEqualTo("float32");
            for (String name : pt.names()) {
                NDArray actual = pt.load(name, manager);
                NDArray expected = st.load(name, manager);
                assertThat(actual.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(actual.getShape()).isEqualTo(expected.getShape());
                assertThat(bits(actual.toFloatArray())).as(name).containsExactly(bits(expected.toFloatArray()));
            }
        }
    }

    @Test
    void gathersStridedAndOffsetViewsOfSharedStoragesInCOrder() {
        Map<String, Spec> tensors = new LinkedHashMap<>();
        tensors.put("matrix", Spec.contiguous("FloatStorage", "0", 2, 3));
        tensors.put("transposed", Spec.of("FloatStorage", "0", 6, 0, new long[] {3, 2}, new long[] {1, 3}));
        tensors.put("row", Spec.of("FloatStorage", "0", 6, 3, new long[] {3}, new long[] {1}));
        tensors.put("column", Spec.of("FloatStorage", "0", 6, 1, new long[] {2}, new long[] {3}));
        tensors.put("fortran", Spec.of("FloatStorage", "1", 24, 0, new long[] {2, 3, 4}, new long[] {1, 2, 6}));
        tensors.put("broadcast", Spec.of("FloatStorage", "0", 6, 2, new long[] {2, 2}, new long[] {0, 1}));
        tensors.put("scalar", Spec.of("FloatStorage", "2", 1, 0, new long[0], new long[0]));
        tensors.put("scalarAtOffset", Spec.of("FloatStorage", "0", 6, 4, new long[0], new long[0]));
        tensors.put("empty", Spec.of("FloatStorage", "3", 0, 0, new long[] {0, 4}, new long[] {4, 1}));
        Path file = TorchZip.of(PickleWriter.stateDict(tensors))
                .storage("0", iota(6)).storage("1", iota(24)).storage("2", floats(7.5f)).storage("3", new byte[0])
                .write(dir.resolve("views.pt"));

        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThat(pt.names()).containsExactlyElementsOf(tensors.keySet());
            assertThat(load(pt, "matrix", manager, 2, 3)).containsExactly(0, 1, 2, 3, 4, 5);
            assertThat(load(pt, "transposed", manager, 3, 2)).containsExactly(0, 3, 1, 4, 2, 5);
            assertThat(load(pt, "row", manager, 3)).containsExactly(3, 4, 5);
            assertThat(load(pt, "column", manager, 2)).containsExactly(1, 4);
            assertThat(load(pt, "broadcast", manager, 2, 2)).containsExactly(2, 3, 2, 3);
            float[] fortran = new float[24];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    for (int k = 0; k < 4; k++) {
                        fortran[i * 12 + j * 4 + k] = i + 2 * j + 6 * k;
                    }
                }
            }
            assertThat(load(pt, "fortran", manager, 2, 3, 4)).containsExactly(fortran);
            assertThat(pt.shape("scalar")).isEmpty();
            assertThat(load(pt, "scalar", manager)).containsExactly(7.5f);
            assertThat(load(pt, "scalarAtOffset", manager)).containsExactly(4f);
            assertThat(load(pt, "empty", manager, 0, 4)).isEmpty();
        }
    }

    @Test
    void widensHalfAndBfloat16ExactlyAndNarrowsDoubles() {
        int[] halves = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00, 0x8000, 0x3555, 0x7E01};
        float[] halfValues = {1f, -2f, 0x1p-24f, 0x3ffp-24f, 0x1p-14f, 65504f, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, -0f, 0.333251953125f, Float.intBitsToFloat(0x7fc02000)};
        int[] bf16 = {0x3F80, 0xC049, 0x0001, 0x7F80, 0xFF80, 0x7FC1, 0x8000, 0x4CBE};
        double[] doubles = {1.0 / 3, -2.5, 1e300, 1e-50};
        Map<String, Spec> tensors = new LinkedHashMap<>();
        tensors.put("half", Spec.contiguous("HalfStorage", "h", halves.length));
        tensors.put("halfTransposed", Spec.of("HalfStorage", "h", halves.length, 0, new long[] {2, 2},
                new long[] {1, 2}));
        tensors.put("bf16", Spec.contiguous("BFloat16Storage", "b", bf16.length));
        tensors.put("bf16Column", Spec.of("BFloat16Storage", "b", bf16.length, 1, new long[] {2, 1},
                new long[] {4, 1}));
        tensors.put("double", Spec.contiguous("DoubleStorage", "d", doubles.length));
        Path file = TorchZip.of(PickleWriter.stateDict(tensors))
                .storage("h", TorchZip.shorts(halves)).storage("b", TorchZip.shorts(bf16))
                .storage("d", TorchZip.doubles(doubles)).write(dir.resolve("half.pt"));

        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThat(pt.dtype("half")).isEqualTo("float16");
            assertThat(pt.dtype("bf16")).isEqualTo("bfloat16");
            assertThat(bits(load(pt, "half", manager, halves.length))).containsExactly(bits(halfValues));
            assertThat(load(pt, "halfTransposed", manager, 2, 2)).containsExactly(1f, 0x1p-24f, -2f, 0x3ffp-24f);
            int[] bf16Bits = new int[bf16.length];
            for (int i = 0; i < bf16.length; i++) {
                bf16Bits[i] = bf16[i] << 16;
            }
            assertThat(bits(load(pt, "bf16", manager, bf16.length))).containsExactly(bf16Bits);
            assertThat(load(pt, "bf16", manager, bf16.length)[1]).isEqualTo(-3.140625f);
            assertThat(bits(load(pt, "bf16Column", manager, 2, 1))).containsExactly(0xC049 << 16, 0x7FC1 << 16);
            assertThat(load(pt, "double", manager, doubles.length))
                    .containsExactly((float) (1.0 / 3), -2.5f, Float.POSITIVE_INFINITY, 0f);
        }
    }

    @Test
    void loadHalfEqualsTheFloat32LoadNarrowedByLibtorchAndRefusesWhatFloat16CannotHold() {
        int[] halves = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x7BFF, 0x7C00, 0x8000, 0x3555};
        int[] bf16 = {0x3F80, 0xC049, 0x3E55, 0x7F80, 0x8000, 0x38D1, 0x3A01, 0x477F};
        float[] floats = {1f / 3, -2.5f, 65519f, 0x1.01p-25f, 6e-5f, -0f, 1e4f, 0.1f};
        double[] doubles = {1.0 / 3, -2.5, 65504, 1e-7};
        Map<String, Spec> tensors = new LinkedHashMap<>();
        tensors.put("half", Spec.contiguous("HalfStorage", "h", halves.length));
        tensors.put("bf16", Spec.contiguous("BFloat16Storage", "b", bf16.length));
        tensors.put("bf16Transposed", Spec.of("BFloat16Storage", "b", bf16.length, 0, new long[] {2, 4},
                new long[] {1, 2}));
        tensors.put("float", Spec.contiguous("FloatStorage", "f", floats.length));
        tensors.put("double", Spec.contiguous("DoubleStorage", "d", doubles.length));
        tensors.put("overflow", Spec.contiguous("FloatStorage", "o", 2));
        tensors.put("underflow", Spec.of("DoubleStorage", "u", 2, 0, new long[] {2}, new long[] {1}));
        Path file = TorchZip.of(PickleWriter.stateDict(tensors))
                .storage("h", TorchZip.shorts(halves)).storage("b", TorchZip.shorts(bf16)).storage("f", floats(floats))
                .storage("d", TorchZip.doubles(doubles)).storage("o", floats(1f, 70000f))
                .storage("u", TorchZip.doubles(1e-6, 1e-30)).write(dir.resolve("narrow.pt"));

        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            for (String name : List.of("half", "bf16", "bf16Transposed", "float", "double")) {
                NDArray half = pt.loadHalf(name, manager);
                assertThat(half.getDataType()).isEqualTo(DataType.FLOAT16);
                assertThat(half.toByteBuffer()).as(name)
                        .isEqualTo(pt.load(name, manager).toType(DataType.FLOAT16, false).toByteBuffer());
            }
            assertThatThrownBy(() -> pt.loadHalf("overflow", manager)).hasMessageContaining("tensor 'overflow' holds 70000.0")
                    .hasMessageContaining("infinite");
            assertThatThrownBy(() -> pt.loadHalf("underflow", manager)).hasMessageContaining("holds 1.0E-30")
                    .hasMessageContaining("become 0");
        }
    }

    @Test
    void loadsIntegerAndBoolStoragesKeepingTheirValues() {
        Map<String, Spec> tensors = new LinkedHashMap<>();
        tensors.put("long", Spec.contiguous("LongStorage", "0", 4));
        tensors.put("longTransposed", Spec.of("LongStorage", "0", 4, 0, new long[] {2, 2}, new long[] {1, 2}));
        tensors.put("int", Spec.contiguous("IntStorage", "1", 2));
        tensors.put("short", Spec.contiguous("ShortStorage", "2", 3));
        tensors.put("char", Spec.contiguous("CharStorage", "3", 2));
        tensors.put("byte", Spec.contiguous("ByteStorage", "4", 2));
        tensors.put("bool", Spec.contiguous("BoolStorage", "5", 3));
        tensors.put("boolStrided", Spec.of("BoolStorage", "5", 3, 0, new long[] {2}, new long[] {2}));
        Path file = TorchZip.of(PickleWriter.stateDict(tensors))
                .storage("0", TorchZip.longs(1L << 40, -1, Long.MIN_VALUE, Long.MAX_VALUE))
                .storage("1", TorchZip.ints(Integer.MIN_VALUE, 7))
                .storage("2", TorchZip.shorts(-32768, 32767, -1))
                .storage("3", new byte[] {-128, 127})
                .storage("4", new byte[] {(byte) 255, 0})
                .storage("5", new byte[] {0, 1, 2})
                .write(dir.resolve("ints.pt"));

        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            NDArray longs = pt.load("long", manager);
            assertThat(longs.getDataType()).isEqualTo(DataType.INT64);
            assertThat(longs.toLongArray()).containsExactly(1L << 40, -1, Long.MIN_VALUE, Long.MAX_VALUE);
            assertThat(pt.load("longTransposed", manager).toLongArray())
                    .containsExactly(1L << 40, Long.MIN_VALUE, -1, Long.MAX_VALUE);
            NDArray ints = pt.load("int", manager);
            assertThat(ints.getDataType()).isEqualTo(DataType.INT32);
            assertThat(ints.toIntArray()).containsExactly(Integer.MIN_VALUE, 7);
            NDArray shorts = pt.load("short", manager);
            assertThat(shorts.getDataType()).isEqualTo(DataType.INT32); // int16 would abort the JVM in DJL
            assertThat(shorts.toIntArray()).containsExactly(-32768, 32767, -1);
            NDArray chars = pt.load("char", manager);
            assertThat(chars.getDataType()).isEqualTo(DataType.INT8);
            assertThat(chars.toByteArray()).containsExactly(-128, 127);
            NDArray bytes = pt.load("byte", manager);
            assertThat(bytes.getDataType()).isEqualTo(DataType.UINT8);
            assertThat(bytes.toUint8Array()).containsExactly(255, 0);
            NDArray bools = pt.load("bool", manager);
            assertThat(bools.getDataType()).isEqualTo(DataType.BOOLEAN);
            assertThat(bools.toBooleanArray()).containsExactly(false, true, true);
            assertThat(pt.load("boolStrided", manager).toBooleanArray()).containsExactly(false, true);
        }
    }

    @Test
    void parametersAreTheirTensorsAndLocationsAreIgnored() {
        PickleWriter w = new PickleWriter().proto(2).global("collections", "OrderedDict").emptyTuple().reduce().mark();
        w.str("param").parameter(Spec.contiguous("FloatStorage", "0", 2));
        w.str("withState").global("torch._utils", "_rebuild_parameter_with_state").mark()
                .tensor(Spec.contiguous("FloatStorage", "1", 1)).bool(true)
                .global("collections", "OrderedDict").emptyTuple().reduce()
                .emptyDict().str("note").str("attribute").setItem()
                .tuple().reduce();
        w.str("onGpu").tensor(new Spec("FloatStorage", "2", "cuda:0", 1, 0, new long[] {1}, new long[] {1}));
        // Newer torch passes a seventh argument, a metadata dict.
        w.str("withMetadata").global("torch._utils", "_rebuild_tensor_v2").mark()
                .storage(Spec.contiguous("FloatStorage", "0", 2)).integer(1).ints(1).ints(1).bool(false)
                .global("collections", "OrderedDict").emptyTuple().reduce()
                .emptyDict().str("key").integer(1).setItem()
                .tuple().reduce();
        Path file = TorchZip.of(w.setItems().stop().bytes())
                .storage("0", floats(1, 2)).storage("1", floats(3)).storage("2", floats(4))
                .write(dir.resolve("param.pt"));

        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThat(pt.names()).containsExactly("param", "withState", "onGpu", "withMetadata");
            assertThat(load(pt, "withMetadata", manager, 1)).containsExactly(2);
            assertThat(load(pt, "param", manager, 2)).containsExactly(1, 2);
            assertThat(load(pt, "withState", manager, 1)).containsExactly(3);
            assertThat(load(pt, "onGpu", manager, 1)).containsExactly(4);
        }
    }

    @Test
    void flattensNestedDictsAndListsAndIgnoresMetadata() {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().mark();
        w.str("epoch").integer(3);
        w.str("state_dict").global("collections", "OrderedDict").emptyTuple().reduce().mark()
                .str("encoder.weight").tensor(Spec.contiguous("FloatStorage", "0", 2))
                .str("head").emptyDict().str("bias").tensor(Spec.contiguous("FloatStorage", "1", 1)).setItem()
                .setItems();
        w.str("name").str("run-7");
        w.str("lr").binFloat(0.1);
        w.str("extra").none();
        w.str("layers").emptyList().tensor(Spec.contiguous("FloatStorage", "2", 1)).append();
        w.str("ids").emptyDict().integer(5).tensor(Spec.contiguous("LongStorage", "3", 1)).setItem();
        w.str("blob").bytes(new byte[] {1, 2, 3});
        Path file = TorchZip.of(w.setItems().stop().bytes())
                .storage("0", floats(1, 2)).storage("1", floats(3)).storage("2", floats(4))
                .storage("3", TorchZip.longs(9))
                .write(dir.resolve("nested.pt"));

        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThat(pt.names()).containsExactly("state_dict.encoder.weight", "state_dict.head.bias", "layers.0",
                    "ids.5");
            assertThat(pt.contains("epoch")).isFalse();
            assertThat(load(pt, "state_dict.head.bias", manager, 1)).containsExactly(3);
            assertThat(pt.load("ids.5", manager).toLongArray()).containsExactly(9);
        }
    }

    @Test
    void keepsTheFileOrderOfManyKeys() {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            keys.add("layer." + (i * 7 % 20) + (i % 3 == 0 ? ".weight" : ".bias"));
        }
        // Two SETITEMS batches, as pickle splits long dicts.
        PickleWriter w = new PickleWriter().proto(2).global("collections", "OrderedDict").binPut(0)
                .emptyTuple().reduce();
        for (int batch = 0; batch < 2; batch++) {
            w.mark();
            for (int i = batch * 10; i < batch * 10 + 10; i++) {
                w.str(keys.get(i)).tensor(Spec.contiguous("FloatStorage", Integer.toString(i), 1));
            }
            w.setItems();
        }
        TorchZip zip = TorchZip.of(w.stop().bytes());
        for (int i = 0; i < 20; i++) {
            zip.storage(Integer.toString(i), floats(i));
        }
        Path file = zip.write(dir.resolve("order.pt"));

        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThat(pt.names()).containsExactlyElementsOf(keys).isNotEqualTo(keys.stream().sorted().toList());
            assertThat(load(pt, keys.get(13), manager, 1)).containsExactly(13);
        }
    }

    @Test
    void readsProtocol4OpcodesAnyPrefixAndDeflatedEntries() {
        // FRAME, MEMOIZE, SHORT_BINUNICODE and STACK_GLOBAL, with the memo reused like the pickler does.
        PickleWriter w = new PickleWriter().proto(4).frame(200)
                .stackGlobal("collections", "OrderedDict").memoize() // memo 0, 1: names; 2: the class
                .emptyTuple().reduce().memoize().mark()
                .shortStr("w").memoize()
                .stackGlobal("torch._utils", "_rebuild_tensor_v2").memoize().mark()
                .mark().shortStr("storage").memoize().stackGlobal("torch", "FloatStorage").memoize()
                .shortStr("7").shortStr("cpu").integer(3).tuple().binPersId()
                .integer(1).ints(2).ints(1).bool(true).binGet(2).emptyTuple().reduce().tuple().reduce()
                .setItems().stop();
        Path file = TorchZip.of("params", w.bytes()).storage("7", floats(1, 2, 3)).deflated()
                .write(dir.resolve("p4.pt"));

        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThat(pt.names()).containsExactly("w");
            assertThat(load(pt, "w", manager, 2)).containsExactly(2, 3);
        }
    }

    @Test
    void loadedArraysAreCopiesThatOutliveTheFile() {
        Path file = TorchZip.of(PickleWriter.stateDict(Map.of("w", Spec.contiguous("FloatStorage", "0", 3))))
                .storage("0", floats(1, 2, 3)).write(dir.resolve("copy.pt"));
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray first;
            try (TorchCheckpoint pt = TorchCheckpoint.open(file)) {
                first = pt.load("w", manager);
                first.addi(10);
                assertThat(pt.load("w", manager).toFloatArray()).containsExactly(1, 2, 3);
            }
            assertThat(first.toFloatArray()).containsExactly(11, 12, 13);
        }
    }

    @Test
    void refusesUnknownNamesAndLoadsAfterClose() {
        Path file = TorchZip.of(PickleWriter.stateDict(Map.of("blocks.0.weight", Spec.contiguous("FloatStorage", "0", 1))))
                .storage("0", floats(1)).write(dir.resolve("names.pt"));
        try (NDManager manager = NDManager.newBaseManager()) {
            TorchCheckpoint pt = TorchCheckpoint.open(file);
            assertThat(pt.path()).isEqualTo(file);
            assertThatThrownBy(() -> pt.shape("blocks.0.weights"))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("No tensor 'blocks.0.weights'")
                    .hasMessageContaining("Closest names: 'blocks.0.weight'");
            pt.close();
            assertThatThrownBy(() -> pt.load("blocks.0.weight", manager))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("is closed");
        }
    }

    @Test
    void complexTensorsFailOnLoadNamingTheDtypeWhileOthersLoad() {
        Map<String, Spec> tensors = new LinkedHashMap<>();
        tensors.put("z", Spec.contiguous("ComplexFloatStorage", "0", 2));
        tensors.put("w", Spec.contiguous("FloatStorage", "1", 1));
        Path file = TorchZip.of(PickleWriter.stateDict(tensors))
                .storage("0", new byte[16]).storage("1", floats(5)).write(dir.resolve("complex.pt"));
        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThat(pt.dtype("z")).isEqualTo("complex64");
            assertThatThrownBy(() -> pt.load("z", manager))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("'z' has dtype complex64")
                    .hasMessageContaining("cannot load");
            assertThat(load(pt, "w", manager, 1)).containsExactly(5);
        }
    }

    /** Loads a float32 tensor, checking its type and shape. */
    private static float[] load(TorchCheckpoint pt, String name, NDManager manager, long... shape) {
        NDArray array = pt.load(name, manager);
        assertThat(array.getDataType()).as(name).isEqualTo(DataType.FLOAT32);
        assertThat(array.getShape().getShape()).as(name).containsExactly(shape);
        return array.toFloatArray();
    }

    private static int[] bits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }
}
