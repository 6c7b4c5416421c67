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
    void requestsHugePagesFromLibtorchOnlyWhenAskedAndUnlessTheEnvironmentSaysOtherwise() {
        assumeTrue(System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux"));
        String before = System.getenv(HugePages.VARIABLE);
        C c = Native.load("c", C.class);
        HugePages.request(); // without the property: nothing
        assertThat(c.getenv(HugePages.VARIABLE)).isEqualTo(before);
        System.setProperty(HugePages.PROPERTY, "true");
        try {
            HugePages.request();
            HugePages.request(); // a second call changes nothing
            assertThat(c.getenv(HugePages.VARIABLE)).isEqualTo(before != null ? before : "1");
        } finally {
            System.clearProperty(HugePages.PROPERTY);
        }
    }
}
