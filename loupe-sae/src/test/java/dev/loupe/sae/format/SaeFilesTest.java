package dev.loupe.sae.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.CheckpointException;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad SAE folders are refused naming the file and the field; tensors are cast to the config's dtype. */
class SaeFilesTest {
    private static final Path SOURCE = SaeFixtures.saeDir("gpt2/standard_resid_pre_l0");
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private Path folder(Path dir, Map<String, NDArray> tensors) throws IOException {
        Files.copy(SOURCE.resolve(SaeFiles.CFG), dir.resolve(SaeFiles.CFG));
        SafetensorsWriter.write(dir.resolve(SaeFiles.WEIGHTS), tensors);
        return dir;
    }

    private Map<String, NDArray> weights() {
        return new LinkedHashMap<>(Fixtures.readAll(SOURCE.resolve(SaeFiles.WEIGHTS), manager));
    }

    @Test
    void missingExtraOrMisshapenTensorsAreNamed(@TempDir Path dir) throws IOException {
        Map<String, NDArray> missing = weights();
        missing.remove("b_enc");
        Path a = folder(Files.createDirectory(dir.resolve("a")), missing);
        assertThatThrownBy(() -> SaeFiles.read(a, manager)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(a.resolve(SaeFiles.WEIGHTS).toString()).hasMessageContaining("tensor b_enc is missing");
        Map<String, NDArray> extra = weights();
        extra.put("threshold", manager.zeros(new ai.djl.ndarray.types.Shape(128)));
        Path b = folder(Files.createDirectory(dir.resolve("b")), extra);
        assertThatThrownBy(() -> SaeFiles.read(b, manager)).hasMessageContaining("unexpected tensor threshold");
        Map<String, NDArray> misshapen = weights();
        misshapen.put("W_dec", misshapen.get("W_dec").transpose());
        Path c = folder(Files.createDirectory(dir.resolve("c")), misshapen);
        assertThatThrownBy(() -> SaeFiles.read(c, manager)).hasMessageContaining("tensor W_dec has shape (32, 128)")
                .hasMessageContaining("(128, 32)");
        Path d = Files.createDirectory(dir.resolve("d"));
        assertThatThrownBy(() -> SaeFiles.read(d, manager)).hasMessageContaining(d.resolve(SaeFiles.CFG) + " is missing");
        Files.writeString(d.resolve(SaeFiles.CFG), "{\"d_in\": ");
        assertThatThrownBy(() -> SaeFiles.read(d, manager)).hasMessageContaining("is not valid JSON");
    }

    @Test
    void anAllOnesScalingFactorIsDroppedAndAnyOtherRefused(@TempDir Path dir) throws IOException {
        Map<String, NDArray> ones = weights();
        ones.put("scaling_factor", manager.ones(new ai.djl.ndarray.types.Shape(128)));
        Path a = folder(Files.createDirectory(dir.resolve("a")), ones);
        assertThat(SaeFiles.read(a, manager).tensors()).doesNotContainKey("scaling_factor");
        Map<String, NDArray> twos = weights();
        twos.put("scaling_factor", manager.ones(new ai.djl.ndarray.types.Shape(128)).mul(2));
        Path b = folder(Files.createDirectory(dir.resolve("b")), twos);
        assertThatThrownBy(() -> SaeFiles.read(b, manager)).hasMessageContaining("scaling_factor is not all ones");
    }

    @Test
    void tensorsAreCastToTheConfigsDtype(@TempDir Path dir) throws IOException {
        Map<String, NDArray> half = weights();
        half.replaceAll((name, t) -> t.toType(DataType.FLOAT16, false));
        Path a = folder(Files.createDirectory(dir.resolve("a")), half);
        NDArray read = SaeFiles.read(a, manager).tensors().get("W_enc");
        assertThat(read.getDataType()).isEqualTo(DataType.FLOAT32);
        assertThat(read.toFloatArray()).isEqualTo(half.get("W_enc").toType(DataType.FLOAT32, false).toFloatArray());

        Path b = Files.createDirectory(dir.resolve("b"));
        Files.writeString(b.resolve(SaeFiles.CFG), Files.readString(SOURCE.resolve(SaeFiles.CFG))
                .replace("\"dtype\": \"float32\"", "\"dtype\": \"torch.float16\""));
        Files.copy(SOURCE.resolve(SaeFiles.WEIGHTS), b.resolve(SaeFiles.WEIGHTS));
        NDArray rounded = SaeFiles.read(b, manager).tensors().get("W_enc");
        assertThat(rounded.toFloatArray()).as("float32 weights rounded to the config's float16")
                .isEqualTo(weights().get("W_enc").toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false)
                        .toFloatArray());
        Files.writeString(b.resolve(SaeFiles.CFG), Files.readString(SOURCE.resolve(SaeFiles.CFG))
                .replace("\"dtype\": \"float32\"", "\"dtype\": \"int8\""));
        assertThatThrownBy(() -> SaeFiles.read(b, manager)).hasMessageContaining("dtype \"int8\" is not one of");
    }
}
