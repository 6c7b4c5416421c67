package dev.loupe.sae;

import ai.djl.ndarray.NDArray;

/**
 * Where an SAE's computation fires its hook points ({@link Sae#HOOK_INPUT} … {@link Sae#HOOK_OUTPUT}): each
 * call returns the activation to continue with, as a TransformerLens hook point does. Splicing an SAE into
 * a model passes the model's hook points for them; {@link #NONE} fires nothing.
 */
@FunctionalInterface
public interface SaeHooks {
    /** Fires nothing (SAELens's {@code _disable_hooks}). */
    SaeHooks NONE = (name, activation) -> activation;

    /**
     * @param name the hook's local name ({@code hook_sae_acts_post})
     * @param activation its activation
     * @return what the computation continues with
     */
    NDArray fire(String name, NDArray activation);
}
