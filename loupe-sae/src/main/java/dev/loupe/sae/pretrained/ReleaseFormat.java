package dev.loupe.sae.pretrained;

import java.util.Arrays;

/** How a release keeps its SAEs on the Hub: SAELens's {@code conversion_func} ({@code sae_lens} where it has none). */
public enum ReleaseFormat {
    /** SAELens's folders: {@code <path>/cfg.json} and {@code <path>/sae_weights.safetensors}. */
    SAE_LENS("sae_lens"),
    /** Gemma Scope: {@code <path>/params.npz}, the config derived from the repository id and the path. */
    GEMMA_2("gemma_2"),
    /** Kissane and Krzyzanowski's hook_z SAEs: the state dict {@code <path>} ({@code .pt}) and {@code <name>_cfg.json}. */
    CONNOR_ROB_HOOK_Z("connor_rob_hook_z");

    private final String jsonName;

    ReleaseFormat(String jsonName) {
        this.jsonName = jsonName;
    }

    /** SAELens's name of the loader. */
    public String jsonName() {
        return jsonName;
    }

    /** The format SAELens's loader name {@code name} stands for. */
    static ReleaseFormat fromJson(String name) {
        return Arrays.stream(values()).filter(f -> f.jsonName.equals(name)).findFirst().orElseThrow(() ->
                new IllegalStateException("Unknown release format " + name + "; Loupe reads " + Arrays.toString(values())));
    }
}
