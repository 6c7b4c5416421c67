package dev.loupe.train.ioi;

import dev.loupe.train.toy.ToyTrainingResult;
import java.util.List;
import java.util.Map;

/**
 * What an IOI training run did.
 *
 * @param curve one point per step of the whole run (the loss is the answer's cross-entropy)
 * @param scores the trained model's {@link IoiScore} on the evaluation prompts of each split
 * @param firstStep the step this process started at (0, or the checkpoint's after a resume)
 * @param seconds how long this process trained
 */
public record IoiTrainingResult(List<ToyTrainingResult.Point> curve, Map<IoiSplit, IoiScore> scores, long firstStep,
        double seconds) {

    /** The last step's training loss. */
    public double finalLoss() {
        return curve.get(curve.size() - 1).loss();
    }
}
