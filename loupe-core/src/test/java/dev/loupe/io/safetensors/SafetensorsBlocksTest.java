package dev.loupe.io.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tensors larger than one Java buffer (2 GiB: Gemma's 256000 × 2304 embedding is 2.4 GB in float32) are
 * written into libtorch's memory a block at a time. Here the blocks are a few bytes, so every fixture
 * tensor crosses many block boundaries, also in the middle of a 4 MiB read chunk, and each must equal
 * the one-block load bit for bit: copied float32 and float16, widened bfloat16, narrowed to float16.
 */
class SafetensorsBlocksTest {
    @ParameterizedTest(name = "{0}, blocks of {1} bytes, private mapping {2}")
    @CsvSource({"gpt2/model.safetensors, 12, true", "gpt2/model.safetensors, 4096, false",
        "extra/gpt2_bf16/model.safetensors, 12, true", "extra/gpt2_bf16/model.safetensors, 1000, false",
        "extra/gpt2_f16/model.safetensors, 6, true", "extra/gpt2_f16/model.safetensors, 256, false"})
    void everyTensorLoadedBlockByBlockEqualsTheOneBlockLoad(String fixture, int blockBytes, boolean privateMapping) {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile whole = SafetensorsFile.open(TestFiles.MODELS.resolve(fixture), privateMapping);
                SafetensorsFile blocks = SafetensorsFile.open(TestFiles.MODELS.resolve(fixture), privateMapping,
                        blockBytes)) {
            int multiBlock = 0;
            for (String name : whole.names()) {
                NDArray expected = whole.load(name, manager);
                NDArray loaded = blocks.load(name, manager);
                assertThat(loaded.getShape()).as(name).isEqualTo(expected.getShape());
                assertThat(loaded.getDataType()).as(name).isEqualTo(expected.getDataType());
                assertThat(loaded.toByteBuffer()).as(name).isEqualTo(expected.toByteBuffer());
                NDArray half = blocks.loadHalf(name, manager);
                assertThat(half.getDataType()).isEqualTo(DataType.FLOAT16);
                assertThat(half.toByteBuffer()).as(name + " in float16").isEqualTo(whole.loadHalf(name, manager).toByteBuffer());
                if (expected.size() * expected.getDataType().getNumOfBytes() > blockBytes) {
                    multiBlock++;
                }
                // The array is its own memory: writing into it changes neither the file nor a later load.
                loaded.muli(2);
                assertThat(blocks.load(name, manager).toByteBuffer()).as(name).isEqualTo(expected.toByteBuffer());
            }
            assertThat(multiBlock).as("tensors spanning several blocks").isGreaterThan(5);
        }
    }
}
