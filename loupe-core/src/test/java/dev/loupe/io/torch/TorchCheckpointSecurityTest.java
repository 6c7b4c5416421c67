package dev.loupe.io.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.CheckpointException;
import dev.loupe.io.torch.PickleWriter.Spec;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Pickles that try to run code. Each would, under Python's pickle, create a marker file; here they
 * must be refused at the GLOBAL opcode, with the global's name, and nothing may run.
 */
class TorchCheckpointSecurityTest {
    @TempDir
    Path dir;

    private Path marker;

    @BeforeEach
    void setUp() {
        marker = dir.resolve("pwned");
    }

    @ParameterizedTest
    @CsvSource({
        "os, system",
        "posix, system",
        "builtins, eval",
        "builtins, exec",
        "builtins, getattr",
        "builtins, __import__",
        "subprocess, Popen",
        "torch, load",
        "torch._utils, _rebuild_tensor",
        "collections, defaultdict",
    })
    void refusesAnyGlobalOutsideTheAllowListBeforeReduce(String module, String name) {
        byte[] pickle = new PickleWriter().proto(2).global(module, name).str(touchCommand()).tuple1().reduce().stop()
                .bytes();
        assertRefused(TorchZip.of(pickle).write(dir.resolve("evil.pt")), module + " " + name);
    }

    @Test
    void refusesEvalWithPythonCode() {
        String code = "open('" + marker + "', 'w').write('x')";
        byte[] pickle = new PickleWriter().proto(2).global("builtins", "eval").str(code).tuple1().reduce().stop()
                .bytes();
        assertRefused(TorchZip.of(pickle).write(dir.resolve("eval.pt")), "builtins eval");
    }

    @Test
    void refusesPosixSystemThroughStackGlobal() {
        byte[] pickle = new PickleWriter().proto(4).frame(64).stackGlobal("posix", "system").memoize()
                .shortStr(touchCommand()).tuple1().reduce().stop().bytes();
        assertRefused(TorchZip.of(pickle).write(dir.resolve("stack.pt")), "posix system");
    }

    @Test
    void refusesTorchsLegacyNestedUnpickling() {
        byte[] inner = new PickleWriter().proto(2).global("os", "system").str(touchCommand()).tuple1().reduce().stop()
                .bytes();
        byte[] pickle = new PickleWriter().proto(2).global("torch.storage", "_load_from_bytes").bytes(inner).tuple1()
                .reduce().stop().bytes();
        assertThatThrownBy(() -> TorchCheckpoint.open(TorchZip.of(pickle).write(dir.resolve("bytes.pt"))))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("refuses to load: the pickle asks for global 'torch.storage _load_from_bytes'")
                .hasMessageContaining("unpickles nested data");
        assertThat(marker).doesNotExist();
    }

    @Test
    void refusesAMaliciousValueInsideAnOtherwiseValidStateDict() {
        PickleWriter w = new PickleWriter().proto(2).global("collections", "OrderedDict").emptyTuple().reduce().mark();
        w.str("ok").tensor(Spec.contiguous("FloatStorage", "0", 1));
        w.str("evil").global("os", "system").str(touchCommand()).tuple1().reduce();
        byte[] pickle = w.setItems().stop().bytes();
        assertRefused(TorchZip.of(pickle).storage("0", TorchZip.floats(1)).write(dir.resolve("mixed.pt")),
                "os system");
    }

    @Test
    void refusesAtTheGlobalOpcodeBeforeReadingFurther() {
        // Garbage after the GLOBAL: the refusal, not the bad opcode, must be what is reported.
        byte[] pickle = new PickleWriter().proto(2).global("os", "system").op(0xff).op(0xfe).bytes();
        assertRefused(TorchZip.of(pickle).write(dir.resolve("early.pt")), "os system");
    }

    @Test
    void refusesProtocol0InstOpcode() {
        PickleWriter w = new PickleWriter().mark().str(touchCommand()).op('i');
        byte[] pickle = w.raw("os\nsystem\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).stop().bytes();
        assertRefused(TorchZip.of(pickle).write(dir.resolve("inst.pt")), "os system");
    }

    @Test
    void refusesExtensionRegistryLookups() {
        byte[] pickle = new PickleWriter().proto(2).op(0x82).op(1).str(touchCommand()).tuple1().reduce().stop()
                .bytes();
        assertThatThrownBy(() -> TorchCheckpoint.open(TorchZip.of(pickle).write(dir.resolve("ext.pt"))))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("EXT1");
        assertThat(marker).doesNotExist();
    }

    @Test
    void escapesControlCharactersInTheRefusedName() {
        byte[] pickle = new PickleWriter().proto(2).global("os\u001b[31m", "system").stop().bytes();
        assertThatThrownBy(() -> TorchCheckpoint.open(TorchZip.of(pickle).write(dir.resolve("ansi.pt"))))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("global 'os\\x1b[31m system'")
                .hasMessageNotContaining("\u001b");
    }

    @Test
    void refusesCallingAStorageClass() {
        byte[] pickle = new PickleWriter().proto(2).global("torch", "FloatStorage").str(touchCommand()).tuple1()
                .reduce().stop().bytes();
        assertThatThrownBy(() -> TorchCheckpoint.open(TorchZip.of(pickle).write(dir.resolve("call.pt"))))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("calls torch.FloatStorage");
    }

    private String touchCommand() {
        return "touch " + marker;
    }

    private void assertRefused(Path file, String global) {
        assertThatThrownBy(() -> TorchCheckpoint.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("refuses to load: the pickle asks for global '" + global + "' (only"
                        + " tensor-rebuild globals are allowed; this file may try to run code)");
        assertThat(marker).doesNotExist();
    }
}
