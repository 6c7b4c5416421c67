/**
 * Training SAEs as SAELens 6.18 trains them: activations of one hook harvested from a model
 * ({@link dev.loupe.sae.train.ModelActivations}), or stored once on disk for several SAEs
 * ({@link dev.loupe.sae.train.ActivationStore}: float32 safetensors shards {@code shard_NNNNN.safetensors} with one
 * tensor {@code activations} [tokens, d_in], and {@code manifest.json} with the hook name, d_in, dtype, tokens per
 * shard and each shard's file and token count, so that distributed harvesters can write it;
 * {@link dev.loupe.sae.train.StoredActivations} reads it), mixed across batches ({@link dev.loupe.sae.train.MixingBuffer}),
 * the {@code standard}, {@code topk} and {@code jumprelu} objectives with SAELens's defaults
 * ({@link dev.loupe.sae.train.SaeTrainingConfig}), the training loop with exact-resume checkpoints
 * ({@link dev.loupe.sae.train.SaeTrainer}), and the result in SAELens's format ({@link dev.loupe.sae.train.TrainedSae}).
 * Gradients come from DJL's autograd through core's {@code dev.loupe.train}, as for every trainer in Loupe.
 */
package dev.loupe.sae.train;
