package dev.loupe.sae.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import java.util.Objects;

/**
 * An SAE's configuration as SAELens 6 keeps it ({@code SAEConfig.to_dict}, the {@code cfg.json} that
 * {@code save_model} writes). Values only; {@link SaeConfigJson} reads and writes it.
 *
 * @param dIn the input width (hook_z: n_heads·d_head)
 * @param dSae the number of features
 * @param dtype SAELens's dtype name ({@code "float32"}, {@code "torch.float16"}, …): the weights are cast to it
 * @param device SAELens's device, kept for the file only (Loupe computes on its own engine)
 * @param applyBDecToInput whether b_dec is subtracted from the input before encoding (never for transcoders)
 * @param normalizeActivations how the input is normalised per token
 * @param reshapeHookZ SAELens's {@code reshape_activations == "hook_z"}: the input [.., n_heads, d_head] is
 *     flattened head-major to [.., n_heads·d_head], and the output shaped back
 * @param metadata SAELens's {@code metadata}, every key kept in its order ({@code hook_name}, {@code model_name},
 *     {@code model_from_pretrained_kwargs}, transcoders' {@code hook_name_out}, …)
 * @param architecture the architecture
 * @param k topk: how many features per token may be active (0 for other architectures)
 * @param rescaleActsByDecoderNorm topk: whether pre-activations are scaled by the decoder rows' norms
 * @param dOut transcoders: the output width (d_in for other architectures)
 */
public record SaeConfig(int dIn, int dSae, String dtype, String device, boolean applyBDecToInput,
        ActivationNormalization normalizeActivations, boolean reshapeHookZ, ObjectNode metadata,
        SaeArchitecture architecture, int k, boolean rescaleActsByDecoderNorm, int dOut) {

    /** The SAELens release whose format Loupe writes, recorded as {@code sae_lens_version} when a config has none. */
    public static final String SAE_LENS_VERSION = "6.18.0";

    public SaeConfig {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(normalizeActivations, "normalizeActivations");
        Objects.requireNonNull(architecture, "architecture");
        metadata = metadata == null ? JsonNodeFactory.instance.objectNode() : metadata.deepCopy();
        if (dIn <= 0 || dSae <= 0 || dOut <= 0) {
            throw new LoupeException("SAE widths must be positive: d_in " + dIn + ", d_sae " + dSae + ", d_out " + dOut);
        }
        if (architecture == SaeArchitecture.TOPK && (k <= 0 || k > dSae)) {
            throw new LoupeException("A topk SAE needs 1 <= k <= d_sae (" + dSae + "), got k = " + k);
        }
        if (architecture != SaeArchitecture.TRANSCODER && dOut != dIn) {
            throw new LoupeException("Only transcoders have d_out != d_in (" + dIn + "), got d_out " + dOut);
        }
        if (architecture == SaeArchitecture.TRANSCODER && applyBDecToInput) {
            throw new LoupeException("apply_b_dec_to_input is not supported for transcoders (as in SAELens): "
                    + "set it to false");
        }
    }

    /** SAELens's metadata (a copy: the config does not change). */
    @Override
    public ObjectNode metadata() {
        return metadata.deepCopy();
    }

    /** The hook point it reads ({@code metadata.hook_name}), or null when the file has none. */
    public String hookName() {
        return text("hook_name");
    }

    /** Transcoders: the hook point whose activation it replaces ({@code metadata.hook_name_out}), or null. */
    public String hookNameOut() {
        return text("hook_name_out");
    }

    /** {@code metadata.model_from_pretrained_kwargs}: how SAELens loads the model ({@code {}} when absent). */
    public ObjectNode modelFromPretrainedKwargs() {
        JsonNode kwargs = metadata.get("model_from_pretrained_kwargs");
        return kwargs instanceof ObjectNode o ? o.deepCopy() : JsonNodeFactory.instance.objectNode();
    }

    /** The same configuration with other metadata (kept in the order given). */
    public SaeConfig withMetadata(ObjectNode newMetadata) {
        return new SaeConfig(dIn, dSae, dtype, device, applyBDecToInput, normalizeActivations, reshapeHookZ,
                newMetadata, architecture, k, rescaleActsByDecoderNorm, dOut);
    }

    private String text(String key) {
        JsonNode value = metadata.get(key);
        return value == null || value.isNull() ? null : value.asText();
    }
}
