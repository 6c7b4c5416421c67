package dev.loupe.numeric;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.Locale;

/**
 * On request ({@code -Dloupe.hugePages=true}), asks libtorch's CPU allocator for transparent huge pages
 * ({@code THP_MEM_ALLOC_ENABLE=1}: buffers of 2 MB and more are advised {@code MADV_HUGEPAGE}), unless the
 * environment already says either way.
 *
 * <p>Why: a large buffer that glibc maps fresh (the logits of a batch, 200 MB for 8×128 tokens of
 * GPT-2) is page-faulted in 4 kB at a time while the matrix product writes it, and on a virtual machine
 * those faults cost more than the product: GPT-2 small's unembedding of 1,024 tokens took 1.2 s with
 * 4 kB pages and 0.53 s with huge pages. Nothing computed changes, only where the memory comes from.
 *
 * <p>Off by default: the resident set then grows in 2 MB steps, and over 900 cached passes of the tiny
 * GPT-2 it grew by 34-36 MB instead of 19-24 MB, beyond {@code MemoryGrowthTest}'s 32 MB. libtorch reads
 * the variable once, at its first allocation, so this must run before any tensor is made; later it
 * changes nothing. The model classes call it when they load, before their first tensor.
 */
public final class HugePages {
    static final String VARIABLE = "THP_MEM_ALLOC_ENABLE";
    /** The system property that turns the request on. */
    public static final String PROPERTY = "loupe.hugePages";

    private static volatile boolean requested;

    private HugePages() {}

    /** The C library's {@code setenv}: the JDK can read the environment but not change it. */
    private interface C extends Library {
        int setenv(String name, String value, int overwrite);
    }

    /**
     * With {@code -Dloupe.hugePages=true}, sets {@code THP_MEM_ALLOC_ENABLE=1} in this process's environment
     * on Linux when it is not set (a value set by the user, {@code 0} included, is kept). Does nothing
     * without the property, elsewhere, or if the C library cannot be reached.
     */
    public static void request() {
        if (requested || !Boolean.getBoolean(PROPERTY)) {
            return;
        }
        synchronized (HugePages.class) {
            if (requested) {
                return;
            }
            requested = true;
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")
                    || System.getenv(VARIABLE) != null) {
                return;
            }
            try {
                Native.load("c", C.class).setenv(VARIABLE, "1", 0);
            } catch (LinkageError | RuntimeException e) {
                // Without it the allocator uses ordinary pages: slower on some machines, never wrong.
            }
        }
    }
}
