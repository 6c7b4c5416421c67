/**
 * The PyTorch checkpoint format ({@code torch.save} zips: {@code pytorch_model.bin}, {@code .pt}),
 * read without running any code from the file: {@link dev.loupe.io.torch.TorchCheckpoint}
 * interprets the pickled state dict with a restricted unpickler that resolves only the handful of
 * torch globals a state dict needs and refuses every other global (such as {@code os.system}) at
 * the opcode that names it. Its work is bounded too: objects built and copied, the size the result
 * expands to when shared (memo) references are followed, the nesting, and the length of the tensor
 * names, so a small file cannot make it run for ever ("billion laughs") or fill the heap.
 * {@link dev.loupe.io.torch.TorchCheckpointWriter} writes state dicts that {@code torch.load} reads
 * back.
 *
 * <p>Floor "hooks, text, file formats": it may use {@code dev.loupe}, the numeric helpers,
 * {@code dev.loupe.linalg}, {@code dev.loupe.config} and {@code dev.loupe.run}, not the other
 * packages of its floor. As with {@code dev.loupe.io.safetensors}, it knows one format only:
 * which files of a folder to read goes to {@code dev.loupe.io}, weight names and layouts to
 * {@code dev.loupe.load.spi} and {@code dev.loupe.load.adapters}.
 */
package dev.loupe.io.torch;
