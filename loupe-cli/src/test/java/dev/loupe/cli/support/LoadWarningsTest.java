package dev.loupe.cli.support;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A float16 load that keeps a tensor in float32 says so in one line on stderr, whatever the command. */
class LoadWarningsTest {
    @TempDir
    Path dir;

    @Test
    void aTensorKeptInFloat32IsNamedInOneLine() throws IOException {
        Path fixture = Path.of("../testdata/models/extra/gpt2_bf16");
        Path model = Files.createDirectories(dir.resolve("gpt2_bf16"));
        for (String file : List.of("config.json", "model.safetensors")) {
            Files.copy(fixture.resolve(file), model.resolve(file));
        }
        long at;
        try (SafetensorsFile file = SafetensorsFile.open(model.resolve("model.safetensors"))) {
            at = file.info("transformer.wpe.weight").begin() + 2L * (100 * 32 + 5); // a position the run never uses
        }
        try (FileChannel channel = FileChannel.open(model.resolve("model.safetensors"), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(length, 0);
            ByteBuffer bits = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN)
                    .putShort((short) (Float.floatToRawIntBits(70000f) >>> 16)).flip();
            channel.write(bits, 8 + length.flip().getLong() + at);
        }

        CliTestSupport.Result half = run("hooks", "--model", model.toString(), "--pos", "3", "--dtype", "float16");
        assertThat(half.exitCode()).as(half.err()).isZero();
        assertThat(half.err().lines()).singleElement().asString().startsWith("loupe: kept 1 of 28 tensors in float32")
                .contains("transformer.wpe.weight (69632.0)");
        CliTestSupport.Result full = run("hooks", "--model", model.toString(), "--pos", "3");
        assertThat(full.exitCode()).as(full.err()).isZero();
        assertThat(full.err()).isEmpty();
    }
}
