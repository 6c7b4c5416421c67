package dev.loupe.train.toy;

import java.util.List;

/**
 * What a toy training run did.
 *
 * @param curve one point per step of the whole run (also the steps before a resume)
 * @param evaluationLoss mean loss on a held-out batch of training-like sequences after the last step
 * @param halves the loss on each half of held-out repeated sequences (segment of 31 or what n_ctx allows)
 * @param firstStep the step this process started at (0, or the checkpoint's after a resume)
 * @param seconds how long this process trained
 */
public record ToyTrainingResult(List<Point> curve, double evaluationLoss, RepeatHalves halves, long firstStep,
        double seconds) {

    /**
     * One step.
     *
     * @param step 1-based number of the step
     * @param loss the training loss of its batch
     * @param learningRate the rate of its update
     * @param gradNorm the gradients' global norm before clipping
     */
    public record Point(long step, double loss, double learningRate, double gradNorm) {}

    /** The last step's training loss. */
    public double finalLoss() {
        return curve.get(curve.size() - 1).loss();
    }
}
