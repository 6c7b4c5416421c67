package dev.loupe.io.torch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A contiguous tensor is written into its array a block at a time, so tensors over 2 GiB load (as
 * safetensors ones do): loaded in small blocks, every tensor equals its one-block load bit for bit, copied
 * as it is (float32, float16) and converted (float16 widened, float32 narrowed to float16).
 */
class TorchCheckpointBlocksTest {
    @TempDir
    Path dir;

    @Test
    void everyTensorLoadedBlockByBlockEqualsTheOneBlockLoad() {
        Path file = dir.resolve("blocks.bin");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("float32", manager.randomNormal(0f, 1f, new Shape(37, 29), DataType.FLOAT32));
            tensors.put("float16", manager.randomNormal(0f, 1f, new Shape(41, 23), DataType.FLOAT32).toType(DataType.FLOAT16,
                    false));
            tensors.put("int64", manager.arange(0, 1000, 1, DataType.INT64));
            TorchCheckpointWriter.write(file, tensors);
            try (TorchCheckpoint whole = TorchCheckpoint.open(file);
                    TorchCheckpoint blocks = TorchCheckpoint.open(file, 40)) {
                for (String name : whole.names()) {
                    NDArray expected = whole.load(name, manager);
                    assertThat(blocks.load(name, manager).toByteBuffer()).as(name).isEqualTo(expected.toByteBuffer());
                    if (expected.getDataType().isFloating()) {
                        assertThat(blocks.loadHalf(name, manager).toByteBuffer()).as(name + " in float16")
                                .isEqualTo(whole.loadHalf(name, manager).toByteBuffer());
                    }
                }
            }
        }
    }
}
