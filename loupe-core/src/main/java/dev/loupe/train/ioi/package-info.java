/**
 * Loupe's synthetic indirect-object-identification (IOI) task and the small transformers with MLPs trained
 * on it. {@link dev.loupe.train.ioi.IoiVocabulary} is the word-level vocabulary (also as a Hugging Face
 * {@code tokenizer.json}), {@link dev.loupe.train.ioi.IoiTemplate} the sentence shapes,
 * {@link dev.loupe.train.ioi.IoiTask} the seeded split (held-out templates, held-out name pairs) and its
 * {@link dev.loupe.train.ioi.IoiPrompt}s, {@link dev.loupe.train.ioi.IoiScore} the logit difference IO − S,
 * and {@link dev.loupe.train.ioi.IoiTrainer} trains a model from {@link dev.loupe.train.ioi.IoiTrainingOptions}.
 *
 * <p>Floor "IOI task", above the toy models: it reuses their training loop
 * ({@code dev.loupe.train.toy.TrainingLoop}) and initial weights; nothing below uses it. GPT-2's IOI
 * evaluation set (real text) stays in {@code dev.loupe.analysis.evals}.
 */
package dev.loupe.train.ioi;
