package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.eval.SaeEvaluation;
import dev.loupe.sae.format.ActivationNormalization;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.sae.format.SaeConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The result of {@link SaeTrainer#train}: the SAE as SAELens's {@code save_inference_model} leaves it
 * (scaling and, for topk, decoder norms folded in; cfg with the trained-SAE metadata keys), the loss curve,
 * and the features' firing frequencies over the last sampling window. Close it to free the SAE.
 *
 * @param logSparsity log10(firing frequency + 1e-10) per feature [d_sae], SAELens's {@code sparsity.safetensors}
 * @param deadFeatures features that did not fire in the last {@code dead_feature_window} steps
 * @param firstStep the step the run started at (after a resume, the checkpoint's)
 * @param scalingFactor the {@code expected_average_only_in} scale folded into the weights (1 without)
 */
public record TrainedSae(Sae sae, SaeTrainingConfig cfg, List<TrainingStepLog> curve, float[] logSparsity,
        int deadFeatures, long firstStep, double scalingFactor) implements AutoCloseable {

    /** SAELens's file with the firing frequencies. */
    public static final String SPARSITY = "sparsity.safetensors";

    /** SAELens's name of the architecture's sparsity term in the loss curve. */
    public static String sparsityTermName(SaeArchitecture architecture) {
        return switch (architecture) {
            case STANDARD -> "l1_loss";
            case TOPK -> "auxiliary_reconstruction_loss";
            default -> "l0_loss";
        };
    }

    /** The SAE config SAELens's runner writes for a trained SAE, metadata keys in its order. */
    static SaeConfig saeConfig(SaeTrainingConfig cfg) {
        JsonNodeFactory json = JsonNodeFactory.instance;
        ObjectNode m = json.objectNode();
        m.put("sae_lens_version", SaeConfig.SAE_LENS_VERSION);
        m.put("sae_lens_training_version", SaeConfig.SAE_LENS_VERSION);
        m.put("dataset_path", cfg.datasetPath());
        m.put("hook_name", cfg.hookName());
        m.put("model_name", cfg.modelName());
        m.put("model_class_name", "HookedTransformer");
        m.putNull("hook_head_index");
        m.put("context_size", cfg.contextSize());
        m.set("seqpos_slice", json.arrayNode().addNull());
        // The model is read unprocessed, as SAELens's default {"center_writing_weights": false} loads it.
        m.set("model_from_pretrained_kwargs", json.objectNode().put("center_writing_weights", false));
        m.put("prepend_bos", false);
        m.put("exclude_special_tokens", false);
        m.put("sequence_separator_token", "bos");
        m.put("disable_concat_sequences", false);
        boolean topk = cfg.architecture() == SaeArchitecture.TOPK;
        return new SaeConfig(cfg.dIn(), cfg.dSae(), "float32", "cpu", cfg.applyBDecToInput(),
                ActivationNormalization.NONE, cfg.hookName().endsWith("hook_z"), m, cfg.architecture(),
                topk ? cfg.k() : 0, topk && cfg.rescaleActsByDecoderNorm(), cfg.dIn());
    }

    /** The last step's log. */
    public TrainingStepLog last() {
        return curve.get(curve.size() - 1);
    }

    /** SAELens's {@code run_evals} metrics of the trained SAE on {@code tokens} [batch, pos] ({@link SaeEvaluation}). */
    public SaeEvaluation evaluate(HookedTransformer model, NDArray tokens) {
        return SaeEvaluation.evaluate(model, sae, tokens);
    }

    /**
     * Writes the SAE folder as SAELens's runner does: {@code cfg.json}, {@code sae_weights.safetensors} and
     * {@code sparsity.safetensors} (each file under a temporary name first).
     */
    public void save(Path dir) {
        sae.save(dir);
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(dir.resolve(SPARSITY), Map.of("sparsity", manager.create(logSparsity)));
        }
    }

    @Override
    public void close() {
        sae.close();
    }
}
