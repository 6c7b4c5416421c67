package dev.loupe.numeric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** MKL's grouped products against libtorch's own product of each group, on this machine's libtorch (x86-64 Linux). */
class GroupedGemmTest {
    private static final int IN = 96;
    private static final int OUT = 200;

    @Test
    void eachGroupIsLibtorchsProductToFloatRounding() {
        assertThat(GroupedGemm.available()).as("libtorch's x86-64 Linux build exports MKL's cblas_sgemm_batch").isTrue();
        int[] rows = {5, 0, 17, 1, 33};
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(7);
            NDArray x = manager.randomNormal(new Shape(56, IN)); // the groups' rows one after the other
            NDArray out = manager.create(new Shape(56, OUT));
            long[] a = new long[rows.length];
            long[] b = new long[rows.length];
            long[] c = new long[rows.length];
            NDArray[] weights = new NDArray[rows.length];
            long start = 0;
            for (int g = 0; g < rows.length; g++) {
                weights[g] = manager.randomNormal(new Shape(OUT, IN)); // nn.Linear's [out, in]
                a[g] = GroupedGemm.address(x, manager) + start * IN * Float.BYTES;
                b[g] = GroupedGemm.contiguousAddress(weights[g]);
                c[g] = GroupedGemm.address(out, manager) + start * OUT * Float.BYTES;
                start += rows[g];
            }
            GroupedGemm.linear(a, rows, b, c, IN, OUT);
            start = 0;
            for (int g = 0; g < rows.length; g++) {
                NDIndex slice = new NDIndex().addSliceDim(start, start + rows[g]);
                NDArray expected = x.get(slice).matMul(weights[g].transpose());
                // MKL may pick another kernel for a size than libtorch did, so a sum of 96 products of normal values
                // (up to ~40) may be rounded in another order: a few units in the last place, 1e-5.
                float[] actual = out.get(slice).toFloatArray();
                float[] wanted = expected.toFloatArray();
                for (int i = 0; i < actual.length; i++) {
                    assertThat(actual[i]).as("group %d element %d", g, i).isCloseTo(wanted[i], within(1e-5f));
                }
                start += rows[g];
            }
        }
    }

    @Test
    void aStridedArrayHasNoAddressOfItsOwnAndLeavesNoCopyBehind() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray stored = manager.randomNormal(new Shape(OUT, IN));
            NDArray transposed = stored.transpose();
            int before = manager.getManagedArrays().size();
            assertThat(GroupedGemm.contiguousAddress(stored)).isNotZero();
            assertThat(GroupedGemm.contiguousAddress(transposed)).isZero();
            assertThat(GroupedGemm.contiguousAddress(stored.get(new NDIndex("3:7"))))
                    .as("a block of rows is contiguous, at its first row")
                    .isEqualTo(GroupedGemm.contiguousAddress(stored) + 3L * IN * Float.BYTES);
            assertThat(manager.getManagedArrays()).as("arrays left in the array's manager").hasSize(before + 1);

            try (NDManager scratch = manager.newSubManager()) {
                // Through a view in the scratch manager a strided array is copied there, so its address is usable.
                long copy = GroupedGemm.address(transposed, scratch);
                assertThat(copy).isNotZero().isNotEqualTo(GroupedGemm.contiguousAddress(stored));
            }
        }
    }

    @Test
    void refusesWhatIsNotFloat32() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray half = manager.ones(new Shape(4, 4), DataType.FLOAT16);
            assertThatThrownBy(() -> GroupedGemm.contiguousAddress(half)).hasMessageContaining("float32 CPU arrays, not float16");
        }
    }

    @Test
    void theSystemPropertyTurnsItOff() {
        System.setProperty(GroupedGemm.PROPERTY, "false");
        try {
            assertThat(GroupedGemm.available()).isFalse();
        } finally {
            System.clearProperty(GroupedGemm.PROPERTY);
        }
        assertThat(GroupedGemm.available()).isTrue();
    }
}
