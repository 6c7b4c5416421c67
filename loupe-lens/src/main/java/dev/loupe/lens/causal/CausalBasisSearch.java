package dev.loupe.lens.causal;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensInputs;
import dev.loupe.lens.TunedLens;
import dev.loupe.numeric.Scalars;
import dev.loupe.stop.StopSignal;
import dev.loupe.train.Gradients;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * The tuned-lens library's {@code extract_causal_bases}: for each layer, k directions of the residual
 * stream whose removal changes the lens's prediction most. Direction j starts from the j-th left
 * singular vector of the unembedding seen through the lens, is kept orthogonal to the directions
 * found before it, and is moved by L-BFGS to maximise its energy: the mean over every token of
 * {@code KL(lens(h) ‖ lens(h with the direction removed))} ({@link SubspaceAblation#removeSubspace},
 * mean or zero). The directions are then sorted by energy.
 *
 * <p>Where the library starts from {@code transform_hidden(W_U^T)}, which fails on a tuned lens
 * (the [d_model, d_vocab] unembedding cannot pass through a d_model × d_model translator), this
 * starts from the unembedding pulled back through translator i, {@code (I + A_i)ᵀ W_U} ({@code W_U}
 * [d_model, d_vocab]): the directions of {@code h} the translated logits read. For the logit lens that
 * is {@code W_U} itself, the library's start. The search is deterministic; its L-BFGS is not torch's,
 * so the directions agree with the library's in what they achieve, not digit by digit.
 */
public final class CausalBasisSearch {
    private static final float EPS = Math.ulp(1f); // torch.finfo(float32).eps, as the library's project()

    private CausalBasisSearch() {}

    /** A basis for every layer of {@code lens} from the residuals of one run ({@link LensInputs#hidden}). */
    public static List<CausalBasis> extract(Lens lens, LensInputs inputs, CausalBasisOptions options, NDManager manager) {
        List<CausalBasis> bases = new ArrayList<>();
        for (int layer = 0; layer < lens.numLayers(); layer++) {
            bases.add(extract(lens, layer, inputs.hidden(layer), options, manager));
        }
        return bases;
    }

    /**
     * The basis of {@code lens} at {@code layer} for residuals h [batch, pos, d_model] read there.
     *
     * @param manager owns the returned vectors
     */
    public static CausalBasis extract(Lens lens, int layer, NDArray h, CausalBasisOptions options, NDManager manager) {
        int index = lens.layerIndex(layer);
        int d = (int) h.getShape().get(h.getShape().dimension() - 1);
        if (options.k() > d) {
            throw new LoupeException("k = " + options.k() + " directions do not fit a residual of width d_model = " + d);
        }
        double[][] start = initialVectors(lens, index, options.k());
        double[][] found = new double[options.k()][];
        float[] energies = new float[options.k()];
        StopSignal stop = StopSignal.current();
        try (NDManager work = NDManager.newBaseManager(h.getDevice())) {
            NDArray hidden = h.toType(DataType.FLOAT32, true);
            hidden.attach(work);
            Clean clean = Clean.of(lens.forward(hidden, index));
            for (int j = 0; j < options.k(); j++) {
                double[][] before = Arrays.copyOf(found, j);
                int direction = j;
                Lbfgs.Objective negativeEnergy = x -> {
                    // The safe point: between two evaluations (forward and backward passes) of the energy.
                    stop.check(() -> "while searching direction " + direction + " of layer " + index);
                    return negativeEnergy(lens, index, hidden, clean, x, before, options.mode(), work);
                };
                Lbfgs.Result result = Lbfgs.minimize(negativeEnergy, project(start[j], before), options.maxEvaluations(),
                        options.tolerance());
                found[j] = project(result.x(), before);
                energies[j] = (float) energy(lens, index, hidden, clean, found[j], options.mode(), work);
            }
        }
        return sorted(index, found, energies, d, manager);
    }

    /**
     * The energy of one direction u [d_model] of the residuals h [batch, pos, d_model] at
     * {@code layer}: the mean over every token of {@code KL(lens(h) ‖ lens(h with u removed))}, in nats.
     */
    public static double energy(Lens lens, int layer, NDArray h, NDArray direction, AblationMode mode) {
        int index = lens.layerIndex(layer);
        try (NDManager work = NDManager.newBaseManager(h.getDevice())) {
            NDArray hidden = h.toType(DataType.FLOAT32, true);
            hidden.attach(work);
            Clean clean = Clean.of(lens.forward(hidden, index));
            double[] u = direction.toType(DataType.FLOAT64, false).toDoubleArray();
            return energy(lens, index, hidden, clean, u, mode, work);
        }
    }

    /**
     * The first k left singular vectors of the unembedding seen through translator {@code layer}:
     * {@code (I + A)ᵀ W_U} for a tuned lens, {@code W_U} for the logit lens, [k][d_model]. They are the
     * eigenvectors of the d_model × d_model Gram matrix {@code (I + A)ᵀ W_U W_Uᵀ (I + A)} with the largest
     * eigenvalues, so the vocabulary-wide matrix is never decomposed. Their signs are arbitrary (the
     * energy does not depend on them).
     */
    static double[][] initialVectors(Lens lens, int layer, int k) {
        NDArray wU = lens.unembedding().model().stateDict().get("unembed.W_U"); // [d_model, d_vocab]
        int d = (int) wU.getShape().get(0);
        double[] gram;
        try (NDManager scratch = NDManager.newBaseManager(wU.getDevice())) {
            NDArray w = wU.get(scratch, new NDIndex());
            gram = w.matMul(w.transpose()).toType(DataType.FLOAT64, false).toDoubleArray(); // [d, d]
        }
        DMatrixRMaj g = new DMatrixRMaj(d, d, true, gram);
        if (lens instanceof TunedLens tuned) {
            // (I + A)ᵀ G (I + A), A as torch's Linear.weight (out × in): the translator maps h to (I + A) h.
            DMatrixRMaj pushed = new DMatrixRMaj(d, d, true,
                    tuned.weight(layer).toType(DataType.FLOAT64, false).toDoubleArray());
            for (int i = 0; i < d; i++) {
                pushed.add(i, i, 1);
            }
            DMatrixRMaj half = new DMatrixRMaj(d, d);
            CommonOps_DDRM.multTransA(pushed, g, half);
            CommonOps_DDRM.mult(half, pushed, g);
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
        if (!eig.decompose(g.copy())) {
            throw new LoupeException("The eigendecomposition of the unembedding's Gram matrix did not converge"
                    + " (does W_U hold NaN or infinity?)");
        }
        Integer[] order = new Integer[d];
        for (int i = 0; i < d; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble(i -> -eig.getEigenvalue(i).real));
        double[][] vectors = new double[k][];
        for (int j = 0; j < k; j++) {
            vectors[j] = eig.getEigenVector(order[j]).getData().clone();
        }
        return vectors;
    }

    /** −energy at {@code project(x)} and its gradient with respect to x, recorded by autograd. */
    private static Lbfgs.Evaluation negativeEnergy(Lens lens, int layer, NDArray hidden, Clean clean,
            double[] x, double[][] before, AblationMode mode, NDManager work) {
        try (NDManager step = work.newSubManager()) {
            NDArray v = step.create(toFloats(x), new Shape(x.length, 1));
            v.setRequiresGradient(true);
            NDArray[] previous = new NDArray[before.length];
            for (int i = 0; i < before.length; i++) {
                previous[i] = step.create(toFloats(before[i]), new Shape(x.length, 1));
            }
            float value = Gradients.compute(List.of(v), () -> {
                NDArray u = v;
                for (NDArray a : previous) { // (I − A Aᵀ) v, one found direction at a time
                    u = u.sub(a.mul(a.transpose().matMul(u)));
                }
                u = u.div(u.norm().add(Scalars.of(u, EPS)));
                return kl(lens, layer, hidden, clean, u, mode).neg();
            });
            try (NDScope scope = new NDScope()) {
                return new Lbfgs.Evaluation(value, toDoubles(v.getGradient().toFloatArray()));
            }
        }
    }

    private static double energy(Lens lens, int layer, NDArray hidden, Clean clean, double[] u,
            AblationMode mode, NDManager work) {
        // The ops start from the residual, so their results land in its manager: the scope frees them now.
        try (NDManager step = work.newSubManager(); NDScope scope = new NDScope()) {
            NDArray direction = step.create(toFloats(u), new Shape(u.length, 1));
            return kl(lens, layer, hidden, clean, direction, mode).getFloat();
        }
    }

    /** Mean over every token of KL(clean ‖ lens with u [d_model, 1] removed): a scalar. */
    private static NDArray kl(Lens lens, int layer, NDArray hidden, Clean clean, NDArray u,
            AblationMode mode) {
        NDArray ablated = SubspaceAblation.removeSubspace(hidden, u, mode);
        NDArray logQ = lens.forward(ablated, layer).logSoftmax(-1); // [batch, pos, d_vocab]
        // KL = mean Σ p log p − mean Σ p log q; the first term does not move, so it is computed once.
        NDArray crossEntropy = Scalars.div(logQ.mul(clean.probs()).sum(), clean.tokens()).neg();
        return crossEntropy.add(Scalars.of(crossEntropy, clean.meanNegativeEntropy()));
    }

    /**
     * The clean lens distribution p [batch, pos, d_vocab], its token count and {@code mean Σ p log p},
     * computed once per layer.
     */
    private record Clean(NDArray probs, float tokens, float meanNegativeEntropy) {
        static Clean of(NDArray logits) {
            NDArray logP = logits.logSoftmax(-1);
            NDArray p = logP.exp();
            float tokens = logits.getShape().size() / logits.getShape().get(logits.getShape().dimension() - 1);
            return new Clean(p, tokens, p.mul(logP).sum().getFloat() / tokens);
        }
    }

    /** The library's {@code project}: x made orthogonal to every earlier direction, then unit length. */
    static double[] project(double[] x, double[][] before) {
        double[] u = x.clone();
        for (double[] a : before) {
            double dot = 0;
            for (int i = 0; i < u.length; i++) {
                dot += a[i] * u[i];
            }
            for (int i = 0; i < u.length; i++) {
                u[i] -= dot * a[i];
            }
        }
        double norm = 0;
        for (double value : u) {
            norm += value * value;
        }
        norm = Math.sqrt(norm) + EPS;
        for (int i = 0; i < u.length; i++) {
            u[i] /= norm;
        }
        return u;
    }

    private static CausalBasis sorted(int layer, double[][] found, float[] energies, int d, NDManager manager) {
        int k = found.length;
        Integer[] order = new Integer[k];
        for (int j = 0; j < k; j++) {
            order[j] = j;
        }
        Arrays.sort(order, Comparator.comparingDouble(j -> -energies[j]));
        float[] vectors = new float[d * k]; // [d_model, k], one direction per column
        float[] sortedEnergies = new float[k];
        for (int c = 0; c < k; c++) {
            sortedEnergies[c] = energies[order[c]];
            for (int r = 0; r < d; r++) {
                vectors[r * k + c] = (float) found[order[c]][r];
            }
        }
        return new CausalBasis(layer, manager.create(vectors, new Shape(d, k)), sortedEnergies);
    }

    private static float[] toFloats(double[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) x[i];
        }
        return out;
    }

    private static double[] toDoubles(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i];
        }
        return out;
    }
}
