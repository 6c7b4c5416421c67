package dev.loupe.config;

/**
 * How a model keeps its weights in memory. Computation is always float32 (libtorch's float16 matrix
 * products are two orders of magnitude slower on CPU).
 */
public enum WeightDtype {
    /** Every weight in float32: fastest. */
    FLOAT32,
    /**
     * Weights in float16 (rounded to nearest even at load), each layer's widened to float32 just
     * before it runs: half the memory, so a 7B model fits in 24 GiB, at the price of widening every
     * layer on every forward pass.
     */
    FLOAT16
}
