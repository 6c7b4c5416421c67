package dev.loupe.sae.format;

/**
 * One float32 array of a {@code .npy} file: its shape and its values in C order.
 *
 * @param shape the shape, as the file's header gives it
 * @param data the values, row-major, {@code product(shape)} of them
 */
public record NpyArray(long[] shape, float[] data) {}
