package dev.loupe.numeric;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.LibUtils;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Several float32 products {@code C_p [rows_p, out] = A_p [rows_p, in] · B_pᵀ} (B_p [out, in], {@code nn.Linear}'s
 * layout) in one call of MKL's {@code cblas_sgemm_batch}, the MKL that libtorch's x86-64 CPU library links in and
 * exports: the same kernels libtorch's own products run, so each C_p is what {@code A_p.matMul(B_p.transpose())}
 * gives (to float rounding: MKL may pick another kernel for a size than libtorch did).
 *
 * <p>Why: a mixture of experts over 128 tokens gives each of Mixtral's 8 experts about 32 rows, and 24 libtorch
 * products a layer each start and join the intra-op threads; one call for every expert's gate and up products and
 * one for the down products do the same arithmetic with two. Where libtorch has no MKL (macOS, aarch64) or
 * {@code -Dloupe.groupedGemm=false} is set, {@link #available()} is false and callers use libtorch's products.
 *
 * <p>Addresses are of float32 CPU memory that stays alive through the call; nothing here checks them beyond what
 * {@link #address} checks when it takes one.
 */
public final class GroupedGemm {
    /** The system property that turns grouped products off ({@code false}); on by default where available. */
    public static final String PROPERTY = "loupe.groupedGemm";
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANSPOSE = 111;
    private static final int TRANSPOSE = 112;
    private static final boolean LINKED = link();

    private GroupedGemm() {}

    /** MKL's grouped product (LP64: 32-bit sizes), bound by {@link #link()}. */
    private static final class Mkl {
        @SuppressWarnings("checkstyle:ParameterNumber")
        static native void cblas_sgemm_batch(int layout, int[] transA, int[] transB, int[] m, int[] n, int[] k,
                float[] alpha, long[] a, int[] lda, long[] b, int[] ldb, float[] beta, long[] c, int[] ldc,
                int groupCount, int[] groupSize);
    }

    /** Whether grouped products can run in this process, and are not turned off. */
    public static boolean available() {
        return LINKED && !"false".equals(System.getProperty(PROPERTY));
    }

    /**
     * For each product p: {@code C_p [rows[p], out] = A_p [rows[p], in] · B_pᵀ}, all row-major and contiguous, B_p
     * [out, in]. Products with no rows are left out. Runs on libtorch's intra-op threads (MKL's thread count is the
     * one libtorch set).
     *
     * @param a the address of each A_p's first element
     * @param b the address of each B_p's first element
     * @param c the address of each C_p's first element, written
     */
    public static void linear(long[] a, int[] rows, long[] b, long[] c, int in, int out) {
        if (!LINKED) {
            throw new IllegalStateException("MKL's cblas_sgemm_batch is not in this libtorch; check available() first");
        }
        int count = 0;
        for (int r : rows) {
            count += r > 0 ? 1 : 0;
        }
        if (count == 0) {
            return;
        }
        int[] transA = new int[count];
        int[] transB = new int[count];
        int[] m = new int[count];
        int[] n = new int[count];
        int[] k = new int[count];
        int[] lda = new int[count];
        int[] ldb = new int[count];
        int[] ldc = new int[count];
        int[] groupSize = new int[count];
        float[] alpha = new float[count];
        float[] beta = new float[count];
        long[] as = new long[count];
        long[] bs = new long[count];
        long[] cs = new long[count];
        int g = 0;
        for (int p = 0; p < rows.length; p++) {
            if (rows[p] == 0) {
                continue;
            }
            transA[g] = NO_TRANSPOSE;
            transB[g] = TRANSPOSE;
            m[g] = rows[p];
            n[g] = out;
            k[g] = in;
            lda[g] = in;
            ldb[g] = in;
            ldc[g] = out;
            groupSize[g] = 1;
            alpha[g] = 1f;
            as[g] = a[p];
            bs[g] = b[p];
            cs[g] = c[p];
            g++;
        }
        Mkl.cblas_sgemm_batch(ROW_MAJOR, transA, transB, m, n, k, alpha, as, lda, bs, ldb, beta, cs, ldc, count, groupSize);
    }

    /**
     * The address of the first element of {@code array}'s memory, seen through a view in {@code scratch}: where the
     * array is strided, libtorch makes a contiguous copy there, so the address stays valid until {@code scratch}
     * closes and never points at a copy that outlives it.
     *
     * @throws IllegalArgumentException unless the array is float32 on the CPU
     */
    public static long address(NDArray array, NDManager scratch) {
        checkFloat32Cpu(array);
        return bufferAddress(array.get(scratch, new NDIndex()));
    }

    /**
     * The address of {@code array}'s own memory where it is one contiguous row-major block (a parameter read once
     * and kept: the address stays valid while the array is open), or 0 where it is strided.
     */
    public static long contiguousAddress(NDArray array) {
        checkFloat32Cpu(array);
        try (NDManager scratch = array.getManager().newSubManager()) {
            // A strided array gives a fresh contiguous copy per view, so two views differ; a contiguous one, its own memory.
            long first = bufferAddress(array.get(scratch, new NDIndex()));
            long second = bufferAddress(array.get(scratch, new NDIndex()));
            return first == second ? first : 0;
        }
    }

    private static long bufferAddress(NDArray view) {
        ByteBuffer buffer = view.toByteBuffer(true);
        if (!buffer.isDirect() || buffer.remaining() != view.size() * Float.BYTES) {
            throw new IllegalStateException("libtorch gave a copy of the array's memory, not a view of it");
        }
        return Pointer.nativeValue(Native.getDirectBufferPointer(buffer));
    }

    private static void checkFloat32Cpu(NDArray array) {
        if (array.getDataType() != DataType.FLOAT32 || !Device.cpu().equals(array.getDevice())) {
            throw new IllegalArgumentException("Grouped products take float32 CPU arrays, not " + array.getDataType()
                    + " on " + array.getDevice());
        }
    }

    private static boolean link() {
        try {
            Path library = Path.of(LibUtils.getLibtorchPath()).resolve("libtorch_cpu.so");
            if (!Files.isRegularFile(library)) {
                return false;
            }
            Native.register(Mkl.class, NativeLibrary.getInstance(library.toString()));
            return true;
        } catch (LinkageError | RuntimeException e) {
            return false; // no MKL in this libtorch (or not Linux): libtorch's own products instead
        }
    }
}
