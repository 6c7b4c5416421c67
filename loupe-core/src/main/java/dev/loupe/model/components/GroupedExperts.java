package dev.loupe.model.components;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.numeric.Autograd;
import dev.loupe.numeric.GroupedGemm;
import java.util.List;

/**
 * The experts of a {@link MixtureOfExperts} over their rows in two grouped products ({@link GroupedGemm}): every
 * expert's gate and up products {@code [rows_e, d_model] · W_gateᵀ, W_inᵀ} in one call into two [rows, d_mlp]
 * arrays, the activation, then every expert's down product {@code · W_outᵀ} in another into one [rows, d_model]
 * array, rows in the experts' order. The same products and hooks as each {@link Expert#forward}, in the same order
 * (an expert's {@code hook_gate}, {@code hook_pre}, {@code hook_post}, then the next expert's), with 2 products a
 * layer instead of 3 per expert; with no hook on any expert the activation runs once over every row.
 *
 * <p>Runs where grouped products are available, out of autograd, on float32 CPU weights that are contiguous (a
 * loaded checkpoint's); elsewhere {@link #forward} returns null and the experts run one by one.
 */
final class GroupedExperts {
    private final List<Expert> experts;
    private final int dModel;
    private final int dMlp;
    private volatile Addresses addresses; // resolved at the first grouped run

    /** Each expert's stored matrices and their addresses: gate, in, out. */
    private record Addresses(NDArray[][] stored, long[][] address, boolean usable) {}

    GroupedExperts(List<Expert> experts, int dModel, int dMlp) {
        this.experts = experts;
        this.dModel = dModel;
        this.dMlp = dMlp;
    }

    /**
     * x [rows, d_model], the rows of expert e from {@code firstRow[e]} to {@code firstRow[e + 1]} → [rows, d_model]
     * in the same order; null where this path cannot run.
     */
    NDArray forward(NDArray x, long[] firstRow) {
        if (!GroupedGemm.available() || Autograd.isRecording() || x.getDataType() != DataType.FLOAT32
                || !Device.cpu().equals(x.getDevice())) {
            return null;
        }
        Addresses weights = addresses();
        if (!weights.usable() || released(weights)) {
            return null;
        }
        int nExperts = experts.size();
        int[] rows = new int[nExperts];
        for (int e = 0; e < nExperts; e++) {
            rows[e] = Math.toIntExact(firstRow[e + 1] - firstRow[e]);
        }
        NDManager pass = x.getManager();
        int total = Math.toIntExact(firstRow[nExperts]);
        NDArray gates = pass.create(new Shape(total, dMlp)); // [rows, d_mlp], written by the product
        NDArray ups = pass.create(new Shape(total, dMlp));
        NDArray out = pass.create(new Shape(total, dModel));
        try (NDManager scratch = pass.newSubManager()) {
            long xAt = GroupedGemm.address(x, scratch);
            long gatesAt = GroupedGemm.address(gates, scratch);
            long upsAt = GroupedGemm.address(ups, scratch);
            long[] a = new long[2 * nExperts];
            int[] m = new int[2 * nExperts];
            long[] b = new long[2 * nExperts];
            long[] c = new long[2 * nExperts];
            for (int e = 0; e < nExperts; e++) {
                for (int which = 0; which < 2; which++) {
                    int p = 2 * e + which;
                    a[p] = xAt + firstRow[e] * dModel * Float.BYTES;
                    m[p] = rows[e];
                    b[p] = weights.address()[e][which];
                    c[p] = (which == 0 ? gatesAt : upsAt) + firstRow[e] * dMlp * Float.BYTES;
                }
            }
            GroupedGemm.linear(a, m, b, c, dModel, dMlp);

            long[] hiddenAt = new long[nExperts];
            if (experts.stream().anyMatch(Expert::hooked)) {
                for (int e = 0; e < nExperts; e++) {
                    NDIndex slice = new NDIndex().addSliceDim(firstRow[e], firstRow[e + 1]);
                    NDArray hidden = experts.get(e).hidden(gates.get(slice), ups.get(slice)); // a hook's may be strided
                    hiddenAt[e] = rows[e] == 0 ? 0 : GroupedGemm.address(hidden, scratch);
                }
                products(hiddenAt, rows, weights, out, scratch);
            } else {
                // No hook to fire: one activation over every expert's rows (the experts share the config's).
                NDArray hidden = experts.get(0).activation().apply(gates).muli(ups);
                long at = GroupedGemm.address(hidden, scratch);
                for (int e = 0; e < nExperts; e++) {
                    hiddenAt[e] = at + firstRow[e] * dMlp * Float.BYTES;
                }
                products(hiddenAt, rows, weights, out, scratch);
            }
        }
        return out;
    }

    private void products(long[] hiddenAt, int[] rows, Addresses weights, NDArray out, NDManager scratch) {
        int nExperts = experts.size();
        long outAt = GroupedGemm.address(out, scratch);
        long[] b = new long[nExperts];
        long[] c = new long[nExperts];
        long row = 0;
        for (int e = 0; e < nExperts; e++) {
            b[e] = weights.address()[e][2];
            c[e] = outAt + row * dModel * Float.BYTES;
            row += rows[e];
        }
        GroupedGemm.linear(hiddenAt, rows, b, c, dMlp, dModel);
    }

    private Addresses addresses() {
        Addresses known = addresses;
        if (known == null) {
            synchronized (this) {
                known = addresses;
                if (known == null) {
                    known = resolve();
                    addresses = known;
                }
            }
        }
        return known;
    }

    private Addresses resolve() {
        NDArray[][] stored = new NDArray[experts.size()][];
        long[][] address = new long[experts.size()][3];
        boolean usable = true;
        for (int e = 0; e < experts.size(); e++) {
            Weight[] matrices = experts.get(e).matrices();
            stored[e] = new NDArray[matrices.length];
            for (int i = 0; i < matrices.length; i++) {
                NDArray array = matrices[i].stored();
                stored[e][i] = array;
                boolean float32Cpu = array.getDataType() == DataType.FLOAT32 && Device.cpu().equals(array.getDevice());
                address[e][i] = float32Cpu ? GroupedGemm.contiguousAddress(array) : 0;
                usable &= address[e][i] != 0;
            }
        }
        return new Addresses(stored, address, usable);
    }

    /** A closed model's memory is gone: its arrays say so, and the address must not be used. */
    private static boolean released(Addresses weights) {
        for (NDArray[] expert : weights.stored()) {
            for (NDArray array : expert) {
                if (array.isReleased()) {
                    return true;
                }
            }
        }
        return false;
    }
}
