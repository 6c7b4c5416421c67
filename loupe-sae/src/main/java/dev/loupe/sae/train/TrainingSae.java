package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.numeric.FilledArrays;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.train.TrainingRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters of an SAE being trained, by SAELens's names: {@code W_enc} [d_in, d_sae], {@code W_dec}
 * [d_sae, d_in], {@code b_enc} [d_sae], {@code b_dec} [d_in], and for jumprelu {@code log_threshold} [d_sae]
 * (threshold = exp(log_threshold), so it stays positive). They live in a manager of their own and require
 * gradients; the optimizer changes them in place.
 */
public final class TrainingSae implements AutoCloseable {
    private final SaeTrainingConfig cfg;
    private final NDManager manager;
    private final Map<String, NDArray> parameters = new LinkedHashMap<>();

    private TrainingSae(SaeTrainingConfig cfg, NDManager manager) {
        this.cfg = cfg;
        this.manager = manager;
    }

    /**
     * SAELens's {@code TrainingSAE.initialize_weights}: W_dec drawn as torch's {@code kaiming_uniform_} (bound
     * √(6 / d_in)) with every row rescaled to norm {@code decoder_init_norm}, W_enc = W_decᵀ, biases 0, jumprelu
     * log_threshold = log(jumprelu_init_threshold). The draws come from {@code random}.
     */
    public static TrainingSae initialize(SaeTrainingConfig cfg, TrainingRandom random, NDManager parent) {
        TrainingSae sae = new TrainingSae(cfg, parent.newSubManager());
        int dIn = cfg.dIn();
        int dSae = cfg.dSae();
        double bound = Math.sqrt(6.0 / dIn);
        float[] wDec = new float[dSae * dIn];
        for (int f = 0; f < dSae; f++) {
            double norm = 0;
            for (int d = 0; d < dIn; d++) {
                float v = (float) ((2 * random.nextDouble() - 1) * bound);
                wDec[f * dIn + d] = v;
                norm += (double) v * v;
            }
            double scale = cfg.decoderInitNorm() / Math.sqrt(norm);
            for (int d = 0; d < dIn; d++) {
                wDec[f * dIn + d] = (float) (wDec[f * dIn + d] * scale);
            }
        }
        // W_enc = W_decᵀ written out row-major: a transposed view's strides would survive a clone but not a
        // checkpoint restore, and matMul rounds differently on the two layouts, which would break exact resumes.
        float[] wEnc = new float[dIn * dSae];
        for (int f = 0; f < dSae; f++) {
            for (int d = 0; d < dIn; d++) {
                wEnc[d * dSae + f] = wDec[f * dIn + d];
            }
        }
        // In libtorch's memory, as the model's weights: DJL would put an array made from a Java array in a direct
        // buffer, which counts against -XX:MaxDirectMemorySize and is freed only by a garbage collection.
        sae.add("W_enc", FilledArrays.of(sae.manager, wEnc, new Shape(dIn, dSae)));
        sae.add("W_dec", FilledArrays.of(sae.manager, wDec, new Shape(dSae, dIn)));
        sae.add("b_enc", sae.manager.zeros(new Shape(dSae)));
        sae.add("b_dec", sae.manager.zeros(new Shape(dIn)));
        if (cfg.architecture() == SaeArchitecture.JUMPRELU) {
            sae.add("log_threshold", sae.manager.full(new Shape(dSae), (float) Math.log(cfg.jumpreluInitThreshold())));
        }
        return sae;
    }

    private void add(String name, NDArray value) {
        value.setRequiresGradient(true);
        parameters.put(name, value);
    }

    /** Its configuration. */
    public SaeTrainingConfig cfg() {
        return cfg;
    }

    /** The parameters by name, in the optimizer's order (read-only use: change them only through training). */
    public Map<String, NDArray> parameters() {
        return parameters;
    }

    /** The parameters in the optimizer's order. */
    public List<NDArray> parameterList() {
        return new ArrayList<>(parameters.values());
    }

    /** The parameter {@code name}. */
    public NDArray get(String name) {
        return parameters.get(name);
    }

    /**
     * The weights as SAELens's {@code save_inference_model} writes them, in {@code out}: the activation scale
     * folded in ({@code fold_activation_norm_scaling_factor}: W_enc·s, W_dec/s, b_dec/s; s = 1 without
     * normalisation), then for topk with rescaling the decoder norms folded into W_enc and b_enc (W_dec rows
     * become unit), and for jumprelu threshold = exp(log_threshold).
     */
    public Map<String, NDArray> inferenceTensors(double scalingFactor, NDManager out) {
        float s = (float) scalingFactor;
        NDArray wEnc = get("W_enc").stopGradient().mul(s);
        NDArray wDec = get("W_dec").stopGradient().div(s);
        NDArray bEnc = get("b_enc").stopGradient().duplicate();
        NDArray bDec = get("b_dec").stopGradient().div(s);
        if (cfg.architecture() == SaeArchitecture.TOPK && cfg.rescaleActsByDecoderNorm()) {
            NDArray norms = wDec.norm(new int[] {-1}); // [d_sae]
            bEnc = bEnc.mul(norms);
            wDec = wDec.div(norms.expandDims(1));
            wEnc = wEnc.mul(norms.expandDims(0));
        }
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("W_enc", wEnc);
        tensors.put("W_dec", wDec);
        tensors.put("b_enc", bEnc);
        tensors.put("b_dec", bDec);
        if (cfg.architecture() == SaeArchitecture.JUMPRELU) {
            tensors.put("threshold", get("log_threshold").stopGradient().exp());
        }
        tensors.values().forEach(t -> t.attach(out));
        return tensors;
    }

    @Override
    public void close() {
        manager.close();
    }
}
