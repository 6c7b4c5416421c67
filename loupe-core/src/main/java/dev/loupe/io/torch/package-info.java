/**
 * Reads PyTorch {@code torch.save} zip checkpoints ({@code pytorch_model.bin}, {@code .pt}) without
 * running any code from the file: {@link dev.loupe.io.torch.TorchCheckpoint} interprets the
 * pickled state dict with a restricted unpickler that only understands the handful of torch
 * globals a state dict needs, and refuses everything else.
 */
package dev.loupe.io.torch;

import dev.loupe.io.torch.TorchCheckpoint;
