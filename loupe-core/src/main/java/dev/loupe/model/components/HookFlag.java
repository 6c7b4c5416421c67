package dev.loupe.model.components;

import dev.loupe.config.TransformerConfig;
import java.util.function.Predicate;

/** The config flags that switch optional hook points on, as TransformerLens has them. */
public enum HookFlag {
    USE_ATTN_RESULT("useAttnResult", TransformerConfig::useAttnResult),
    USE_SPLIT_QKV_INPUT("useSplitQkvInput", TransformerConfig::useSplitQkvInput),
    USE_ATTN_IN("useAttnIn", TransformerConfig::useAttnIn),
    USE_HOOK_MLP_IN("useHookMlpIn", TransformerConfig::useHookMlpIn),
    USE_HOOK_TOKENS("useHookTokens", TransformerConfig::useHookTokens);

    private final String configField;
    private final Predicate<TransformerConfig> isOn;

    HookFlag(String configField, Predicate<TransformerConfig> isOn) {
        this.configField = configField;
        this.isOn = isOn;
    }

    /** The {@link TransformerConfig} component that holds this flag. */
    public String configField() {
        return configField;
    }

    /** Whether {@code config} turns this flag on. */
    public boolean isOn(TransformerConfig config) {
        return isOn.test(config);
    }
}
