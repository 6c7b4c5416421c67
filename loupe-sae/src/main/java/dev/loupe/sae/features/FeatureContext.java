package dev.loupe.sae.features;

/**
 * One of a feature's top-activating contexts: a window of one sequence around the position where the feature was
 * most active in it.
 *
 * @param sequence the sequence's row in the corpus
 * @param position where in the sequence the feature is most active (the first such place on ties)
 * @param start the sequence position of the window's first token
 * @param tokens [window] the window's token ids
 * @param activations [window] the feature's activation on each of them
 */
public record FeatureContext(int sequence, int position, int start, long[] tokens, float[] activations) {
    public FeatureContext {
        tokens = tokens.clone();
        activations = activations.clone();
        if (tokens.length != activations.length || position < start || position >= start + tokens.length) {
            throw new IllegalArgumentException("A context needs one activation per token and its maximum inside the"
                    + " window: " + tokens.length + " tokens, " + activations.length + " activations, maximum at "
                    + position + ", window from " + start);
        }
    }

    @Override
    public long[] tokens() {
        return tokens.clone();
    }

    @Override
    public float[] activations() {
        return activations.clone();
    }

    /** The feature's activation at {@link #position()}: the largest in the sequence. */
    public float maxActivation() {
        return activations[position - start];
    }

    /** The index of {@link #position()} in the window. */
    public int maxIndex() {
        return position - start;
    }
}
