package dev.loupe.numeric;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.Locale;

/**
 * Gives the C heap's free memory back to the kernel ({@code malloc_trim(0)} of glibc), where libtorch's
 * freed tensors would otherwise stay resident.
 *
 * <p>Why: {@code scripts/jvm-env.sh} keeps freed blocks below 32 MB in glibc's heap and trims its top only
 * past 1 GB, which makes repeated forward passes faster (no page faults on memory just freed). Loading is
 * the opposite case: every converted tensor leaves a scratch copy of itself freed behind it, and a model
 * that nearly fills the machine (Gemma-2-9B in float16 on 24 GB) cannot afford a gigabyte of them held per
 * allocator arena. The loader trims after each large conversion and at the end; nothing computed changes.
 */
public final class NativeHeap {
    private static final C LIBC = load();

    private NativeHeap() {}

    /** The C library's {@code malloc_trim}. */
    private interface C extends Library {
        int malloc_trim(long pad);
    }

    /**
     * Returns the heap's free pages to the kernel (every arena's, as glibc does). Does nothing where the C
     * library has no {@code malloc_trim} (not Linux, or not glibc).
     *
     * @return whether memory was given back
     */
    public static boolean trim() {
        return LIBC != null && LIBC.malloc_trim(0) == 1;
    }

    private static C load() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
            return null;
        }
        try {
            C c = Native.load("c", C.class);
            c.malloc_trim(0); // fails here, not at the first real use, where the symbol is missing (musl)
            return c;
        } catch (LinkageError | RuntimeException e) {
            return null;
        }
    }
}
