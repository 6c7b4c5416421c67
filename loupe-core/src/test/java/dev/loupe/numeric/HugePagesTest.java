package dev.loupe.numeric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class HugePagesTest {
    /** The process's environment as libtorch reads it (the JDK's System.getenv is a copy made at start-up). */
    private interface C extends Library {
        String getenv(String name);
    }

    @Test
    void requestsHugePagesFromLibtorchUnlessTheEnvironmentSaysOtherwise() {
        assumeTrue(System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux"));
        HugePages.request();
        HugePages.request(); // a second call changes nothing
        String expected = System.getenv(HugePages.VARIABLE) != null ? System.getenv(HugePages.VARIABLE) : "1";
        assertThat(Native.load("c", C.class).getenv(HugePages.VARIABLE)).isEqualTo(expected);
    }
}
