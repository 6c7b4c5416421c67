package dev.loupe.lens.train;

import java.util.List;

/**
 * What a training run did.
 *
 * @param firstStep the step it started at (0, or a resumed checkpoint's)
 * @param layerLosses per step run, the training loss of each layer in nats [step][layer]
 * @param tokensSeen tokens run through the model by this run
 * @param seconds wall time of this run
 */
public record LensTrainingResult(long firstStep, List<double[]> layerLosses, long tokensSeen, double seconds) {

    /** The mean over layers of the last step's losses. */
    public double finalLoss() {
        double[] last = layerLosses.get(layerLosses.size() - 1);
        double sum = 0;
        for (double loss : last) {
            sum += loss;
        }
        return sum / last.length;
    }

    /** Tokens per second of wall time, counting the base model's forward. */
    public double tokensPerSecond() {
        return tokensSeen / seconds;
    }
}
