/**
 * Loupe's toy models: small attention-only transformers trained from scratch on
 * {@link dev.loupe.train.toy.RepeatedTokens} (random segments each followed by a copy, which only
 * an induction circuit predicts). {@link dev.loupe.train.toy.ToyModels} builds their config and
 * initial weights, {@link dev.loupe.train.toy.ToyTrainer} trains a {@code HookedTransformer}
 * directly on its leaf parameters from {@link dev.loupe.train.toy.ToyTrainingOptions}, and
 * {@link dev.loupe.train.toy.RepeatHalves} measures the loss on each half of a repeated sequence.
 * {@link dev.loupe.train.toy.PhaseTracker} follows the induction-head phase change through a run (loss,
 * in-context-learning score, each head's induction and previous-token score every N steps) into
 * {@link dev.loupe.train.toy.PhaseRecord} rows of a CSV file. {@link dev.loupe.train.toy.TrainingLoop} is the
 * optimisation loop these and the IOI models ({@code dev.loupe.train.ioi}) share.
 *
 * <p>Floor "toy models": it may use everything in loupe-core below it, {@code dev.loupe.train} and
 * {@code dev.loupe.model} included. Generic optimizers, schedules and checkpoints go to
 * {@code dev.loupe.train}; models are saved as native folders by
 * {@code dev.loupe.load.adapters.NativeModelWriter}.
 */
package dev.loupe.train.toy;
