package dev.loupe.io.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.numeric.Float16RangeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link BandReader}: a matrix read straight into its transposed (per batch of rows) layout
 * ({@link SafetensorsFile#loadTransposed}) equals libtorch's transposed copy of the file-order load bit for bit,
 * in float32 and in float16, read by one thread with the default bands and by three threads with bands of a
 * few rows (parallel equals serial); a tensor read in file order by three threads equals the one-thread read
 * and, from bfloat16, each value widened on its own; float16's refusals are those of the one-thread load,
 * whichever thread meets them.
 */
class BandReaderTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gpt2/model.safetensors", "extra/gpt2_bf16/model.safetensors",
        "extra/gpt2_f16/model.safetensors"})
    void everyMatrixEqualsTheTransposedFileOrderLoad(String fixture) {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile file = SafetensorsFile.open(TestFiles.MODELS.resolve(fixture))) {
            List<BandReader> readers = List.of(file.bandReader(BandReader.BAND_ELEMENTS,
                    BandReader.BAND_ROWS, 1, Long.MAX_VALUE), file.bandReader(40, 3, 3, 0));
            int matrices = 0;
            for (String name : file.names()) {
                long[] shape = file.info(name).shape();
                if (shape.length != 2) {
                    assertThat(file.readsTransposed(name, 1)).as(name).isFalse();
                    continue;
                }
                matrices++;
                for (int batches : new int[] {1, 2, 4}) {
                    if (shape[0] % batches != 0) {
                        continue;
                    }
                    for (boolean half : new boolean[] {false, true}) {
                        NDArray expected = transposedByLibtorch(half ? file.loadHalf(name, manager)
                                : file.load(name, manager), batches);
                        for (BandReader reader : readers) {
                            NDArray read = file.loadTransposed(name, batches, half, manager, reader);
                            String what = name + " in " + batches + " batches, half " + half;
                            assertThat(read.getShape()).as(what).isEqualTo(expected.getShape());
                            assertThat(read.getDataType()).as(what).isEqualTo(expected.getDataType());
                            assertThat(read.toByteBuffer()).as(what).isEqualTo(expected.toByteBuffer());
                        }
                    }
                }
                manager.getManagedArrays().forEach(NDArray::close);
            }
            assertThat(matrices).isEqualTo(10);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gpt2/model.safetensors", "extra/gpt2_bf16/model.safetensors",
        "extra/gpt2_f16/model.safetensors"})
    void aTensorReadInFileOrderByThreadsEqualsTheOneThreadRead(String fixture) throws Exception {
        Path path = TestFiles.MODELS.resolve(fixture);
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(path);
                FileChannel channel = FileChannel.open(path)) {
            BandReader threads = file.bandReader(40, 3, 3, 0);
            BandReader one = file.bandReader(BandReader.BAND_ELEMENTS, BandReader.BAND_ROWS, 1, Long.MAX_VALUE);
            boolean brain = fixture.contains("bf16");
            for (String name : file.names()) {
                if (file.info(name).shape().length < 2) {
                    continue;
                }
                for (boolean half : new boolean[] {false, true}) {
                    NDArray expected = file.loadInBands(name, half, manager, one);
                    assertThat(file.loadInBands(name, half, manager, threads).toByteBuffer()).as(name + ", half " + half)
                            .isEqualTo(expected.toByteBuffer());
                    assertThat(expected.toByteBuffer()).isEqualTo((half ? file.loadHalf(name, manager)
                            : file.load(name, manager)).toByteBuffer());
                }
                if (brain) {
                    // Independent of the reader: each stored value widened on its own.
                    TensorInfo info = file.info(name);
                    ByteBuffer stored = ByteBuffer.allocate((int) info.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                    channel.read(stored, dataStart(channel) + info.begin());
                    stored.flip();
                    float[] widened = new float[(int) info.numel()];
                    for (int i = 0; i < widened.length; i++) {
                        widened[i] = Float.intBitsToFloat(stored.getShort() << 16);
                    }
                    assertThat(file.loadInBands(name, false, manager, threads).toFloatArray()).as(name)
                            .isEqualTo(widened);
                }
                manager.getManagedArrays().forEach(NDArray::close);
            }
        }
    }

    /** Where a safetensors file's data region starts: after the 8-byte header length and the header. */
    private static long dataStart(FileChannel channel) throws IOException {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        channel.read(length, 0);
        return 8 + length.flip().getLong();
    }

    @Test
    void float16RefusalsAreThoseOfTheFileOrderLoadWhicheverThreadMeetsThem() {
        // 8 rows × 4: with bands of one row and three threads, rows 0-1, 2-4 and 5-7 are each a thread's.
        float[] overflowLate = values(0.01f);
        overflowLate[6 * 4 + 1] = 70000f;
        overflowLate[2 * 4] = 1e-9f; // a flush before it: the overflow still decides, as in file order
        float[] flushLate = values(0f);
        flushLate[5 * 4 + 2] = 1e-9f;
        flushLate[7 * 4] = 2e-9f;
        flushLate[3] = 1e-6f; // tiny but held: the tensor's largest, below float16's smallest normal
        float[] flushEarly = flushLate.clone();
        flushEarly[1 * 4 + 3] = 3e-9f;
        Path path = TestFiles.raw(dir.resolve("misfits.safetensors"), TestFiles.padded(
                "{\"overflow\":{\"dtype\":\"BF16\",\"shape\":[8,4],\"data_offsets\":[0,64]},"
                + "\"flushLate\":{\"dtype\":\"BF16\",\"shape\":[8,4],\"data_offsets\":[64,128]},"
                + "\"flushEarly\":{\"dtype\":\"BF16\",\"shape\":[8,4],\"data_offsets\":[128,192]}}"),
                TestFiles.concat(bfloat16(overflowLate), bfloat16(flushLate), bfloat16(flushEarly)));
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(path)) {
            BandReader threads = file.bandReader(4, 1, 3, 0);
            for (String name : List.of("overflow", "flushLate", "flushEarly")) {
                Float16RangeException expected = catchThrowableOfType(() -> file.loadHalf(name, manager),
                        Float16RangeException.class);
                assertThat(expected).as(name).isNotNull();
                for (int batches : new int[] {1, 2}) {
                    assertThatThrownBy(() -> file.loadTransposed(name, batches, true, manager, threads)).as(name)
                            .isInstanceOf(Float16RangeException.class).hasMessage(expected.getMessage());
                }
                // In float32 every one of them is read.
                assertThat(file.loadTransposed(name, 2, false, manager, threads).toByteBuffer())
                        .isEqualTo(transposedByLibtorch(file.load(name, manager), 2).toByteBuffer());
            }
            // The first flush in file order names the tensor, also where a later thread met its own first.
            assertThat(catchThrowableOfType(() -> file.loadHalf("flushEarly", manager), Float16RangeException.class)
                    .value()).isNotEqualTo(catchThrowableOfType(() -> file.loadHalf("flushLate", manager),
                    Float16RangeException.class).value());
        }
    }

    @Test
    void whatIsNotReadTransposedIsRefusedNamingIt() {
        Path path = TestFiles.raw(dir.resolve("other.safetensors"), TestFiles.padded(
                "{\"f64\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,32]},"
                + "\"odd\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[32,56]}}"), new byte[56]);
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(path)) {
            assertThat(file.readsTransposed("f64", 1)).isFalse();
            assertThat(file.readsTransposed("odd", 1)).isTrue();
            assertThat(file.readsTransposed("odd", 2)).isFalse();
            assertThatThrownBy(() -> file.loadTransposed("odd", 2, false, manager))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'odd'");
        }
    }

    /** libtorch's contiguous copy of {@code stored} [batches·rows, cols] as [batches, cols, rows]. */
    private static NDArray transposedByLibtorch(NDArray stored, int batches) {
        long rows = stored.getShape().get(0) / batches;
        long cols = stored.getShape().get(1);
        NDArray t = stored.reshape(batches, rows, cols).transpose(0, 2, 1);
        return t.flatten().reshape(t.getShape());
    }

    private static float[] values(float fill) {
        float[] values = new float[32];
        Arrays.fill(values, fill);
        return values;
    }

    /** Truncated to bfloat16 (the values here are exact enough for it), little-endian. */
    private static byte[] bfloat16(float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            bytes.putShort((short) (Float.floatToRawIntBits(value) >>> 16));
        }
        return bytes.array();
    }
}
