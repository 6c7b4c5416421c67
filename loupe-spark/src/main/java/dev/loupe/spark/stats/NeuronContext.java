package dev.loupe.spark.stats;

/**
 * One of a neuron's top-activating tokens with the tokens around it ("neuroscope").
 *
 * @param hook the hook
 * @param dim the neuron (dimension of the hook's values)
 * @param rank 0 for the largest value
 * @param group the token's group
 * @param chunk the token's chunk in the group
 * @param position the token's position in the chunk
 * @param tokens the ids of the window around it [≤ 2·window + 1] (cut at the chunk's ends)
 * @param values the neuron's value at each token of the window [same length]
 * @param peak the index of the token itself in {@code tokens}
 */
public record NeuronContext(String hook, int dim, int rank, int group, int chunk, int position, long[] tokens,
        float[] values, int peak) {
    /** The neuron's value at the token. */
    public float value() {
        return values[peak];
    }
}
