package dev.loupe.sae.format;

import dev.loupe.CheckpointException;
import java.util.Arrays;
import java.util.List;

/**
 * The SAE architectures Loupe computes, by SAELens's {@code architecture} name, with the tensors each
 * keeps in {@code sae_weights.safetensors} (shapes with d_out = d_in except for transcoders).
 */
public enum SaeArchitecture {
    /** {@code standard}: relu(x·W_enc + b_enc); W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc [d_sae], b_dec [d_in]. */
    STANDARD("standard", List.of("W_enc", "W_dec", "b_enc", "b_dec")),
    /** {@code topk}: the k largest pre-activations per token, then relu; the standard tensors. */
    TOPK("topk", List.of("W_enc", "W_dec", "b_enc", "b_dec")),
    /** {@code jumprelu}: relu(pre)·(pre &gt; threshold); the standard tensors and threshold [d_sae]. */
    JUMPRELU("jumprelu", List.of("W_enc", "W_dec", "b_enc", "b_dec", "threshold")),
    /** {@code gated}: a gate (b_gate) and a magnitude (r_mag, b_mag) path sharing W_enc; no b_enc. */
    GATED("gated", List.of("W_enc", "W_dec", "b_dec", "b_gate", "b_mag", "r_mag")),
    /** {@code transcoder}: relu(x·W_enc + b_enc)·W_dec + b_dec, read at one hook and written at another. */
    TRANSCODER("transcoder", List.of("W_enc", "W_dec", "b_enc", "b_dec"));

    private final String jsonName;
    private final List<String> tensors;

    SaeArchitecture(String jsonName, List<String> tensors) {
        this.jsonName = jsonName;
        this.tensors = tensors;
    }

    /** SAELens's name ({@code "jumprelu"}). */
    public String jsonName() {
        return jsonName;
    }

    /** The tensors of its state dict, in SAELens's order. */
    public List<String> tensors() {
        return tensors;
    }

    /**
     * The architecture SAELens calls {@code name}.
     *
     * @param where the file, for the message
     * @throws CheckpointException for any other name, listing the supported ones
     */
    public static SaeArchitecture fromJson(String name, String where) {
        for (SaeArchitecture a : values()) {
            if (a.jsonName.equals(name)) {
                return a;
            }
        }
        throw new CheckpointException(where + ": architecture \"" + name + "\" is not supported; Loupe reads "
                + Arrays.stream(values()).map(SaeArchitecture::jsonName).toList());
    }
}
