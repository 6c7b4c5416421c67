package dev.loupe.cli.command;

import dev.loupe.LoupeException;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.lens.LensHook;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.TunedLensFiles;
import dev.loupe.lens.train.LensLoss;
import dev.loupe.lens.train.LensOptimizer;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.LensTrainingResult;
import dev.loupe.lens.train.TunedLensTrainer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StoppedException;
import dev.loupe.tokenize.TextDocuments;
import dev.loupe.tokenize.TokenChunks;
import dev.loupe.train.ProgressBar;
import dev.loupe.train.TrainingCheckpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe lens train}: train a tuned lens, as the Python library's {@code tuned-lens train}. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Train a tuned lens for a model on text, as the Python tuned-lens library's `train` does.",
        description = {
            "",
            "Defaults are the library's: KL(output ‖ lens) per layer without token shift, SGD with Nesterov"
                    + " momentum 0.9 at learning rate 0.1 (lr scale 1 × (1 − momentum)), weight decay 1e-3, linear"
                    + " decay to 0, gradient norm clipped to 1, 250 steps of 262,144 tokens in sequences of 2,048.",
            "",
            "Data: .jsonl files (one JSON object per line; text in --text-column) or .txt files (one document"
                    + " each), joined with the EOS token (a leading one too) and cut into sequences of --max-seq-len"
                    + " tokens, the last partial one dropped, shuffled with --seed. Data smaller than the budget"
                    + " (steps × tokens per step) is refused unless --repeat-data cycles through it.",
            "",
            "The lens works with the Python library too (see Weights below). OUTPUT gets"
                    + " config.json and params.pt (torch.load reads it). With --checkpoint-freq N a checkpoint is"
                    + " written every N steps to --checkpoint-dir (default OUTPUT/checkpoints), and a run started"
                    + " again with the same options resumes from it.",
            "",
            ModelOptions.LENS_BASIS_DESCRIPTION,
            ""
        },
        footer = {
            "",
            "Example: a small lens on a small corpus (testdata/text/loupe.txt, English the project wrote).",
            "  loupe lens train --model testdata/models/gpt2-tok \\",
            "    --data testdata/text/loupe.txt --output my-lens \\",
            "    --max-seq-len 64 --tokens-per-step 128 --num-steps 3 --repeat-data"
        })
final class LensTrainCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", required = true, arity = "1..*", paramLabel = "FILE",
            description = ".jsonl or .txt files to train on.")
    List<Path> data;

    @Option(names = "--text-column", defaultValue = TextDocuments.TEXT_COLUMN, paramLabel = "NAME",
            description = "The .jsonl field holding the text (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(names = {"--output", "-o"}, required = true, paramLabel = "OUTPUT",
            description = "Folder for config.json and params.pt.")
    Path output;

    @Option(names = {"--lens-name-or-path", "-l"}, paramLabel = "LENS",
            description = "Fine-tune this lens folder instead of starting from zero.")
    Path startFrom;

    @Option(names = "--num-steps", defaultValue = "250", paramLabel = "N",
            description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int numSteps;

    @Option(names = "--tokens-per-step", defaultValue = "262144", paramLabel = "N",
            description = "Tokens per step, a multiple of the sequence length (default: ${DEFAULT-VALUE}).")
    int tokensPerStep;

    @Option(names = "--max-seq-len", defaultValue = "2048", paramLabel = "N",
            description = "Sequence length, capped by the model's context (default: ${DEFAULT-VALUE}).")
    int maxSeqLen;

    @Option(names = "--per-gpu-batch-size", defaultValue = "1", paramLabel = "N",
            description = "Sequences per forward pass; gradients are accumulated over a step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--loss", defaultValue = "kl", paramLabel = "kl|ce",
            description = "What the lens matches (default: ${DEFAULT-VALUE}).")
    String loss;

    @Option(names = "--token-shift", paramLabel = "N",
            description = "Shift of predictions against targets (default: 0 for kl, 1 for ce).")
    Integer tokenShift;

    @Option(names = "--optimizer", defaultValue = "sgd", paramLabel = "sgd|adam", description = "Default: ${DEFAULT-VALUE}.")
    String optimizer;

    @Option(names = "--lr-scale", defaultValue = "1.0", paramLabel = "X",
            description = "Learning-rate scale: × (1 − momentum) for SGD, × 1e-3 for Adam (default: ${DEFAULT-VALUE}).")
    double lrScale;

    @Option(names = "--momentum", defaultValue = "0.9", paramLabel = "X",
            description = "SGD momentum or Adam's β1 (default: ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--weight-decay", defaultValue = "1e-3", paramLabel = "X", description = "Default: ${DEFAULT-VALUE}.")
    double weightDecay;

    @Option(names = "--warmup-steps", defaultValue = "0", paramLabel = "N",
            description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmupSteps;

    @Option(names = "--bias-only", description = "Train the translators' biases only.")
    boolean biasOnly;

    @Option(names = "--resid-mid", description = "Read blocks.i.hook_resid_mid instead of resid_pre (beyond the Python library).")
    boolean residMid;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S",
            description = "Order of the sequences (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--repeat-data", description = "Cycle through data smaller than the budget instead of refusing it.")
    boolean repeatData;

    @Option(names = "--checkpoint-freq", defaultValue = "0", paramLabel = "N", description = "Write a checkpoint every N steps.")
    int checkpointFreq;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "Where checkpoints go (default: OUTPUT/checkpoints).")
    Path checkpointDir;

    @Override
    protected int execute() throws IOException {
        LensTrainingOptions options = options();
        OutputCheck check = OutputCheck.of(spec).modelFolder(modelOptions.folder())
                .lensFolder("--lens-name-or-path", startFrom).files("--data", data);
        check.refuseFolder("--output", output, TunedLensFiles.CONFIG, TunedLensFiles.TORCH_PARAMS);
        check.refuseFolder("--checkpoint-dir", options.checkpointDir(), TrainingCheckpoint.JSON, TrainingCheckpoint.TENSORS);
        try (HookedTransformer transformer = modelOptions.load(LensCommand.basis(startFrom))) {
            TokenChunks chunks = LensCommand.corpus(transformer, modelOptions.folder(), "lens train",
                    data, textColumn, maxSeqLen);
            out().printf(Locale.ROOT, "Data: %d sequences of %d tokens (%d tokens); %d steps × %d tokens%n",
                    chunks.chunks().size(), chunks.chunkSize(), chunks.tokenCount(), numSteps, tokensPerStep);
            try (TunedLens lens = startFrom != null ? TunedLens.load(startFrom, transformer)
                    : TunedLens.create(transformer, residMid ? LensHook.RESID_MID : LensHook.RESID_PRE, true)) {
                long first = options.checkpointDir() != null && TrainingCheckpoint.exists(options.checkpointDir())
                        ? TrainingCheckpoint.read(options.checkpointDir()).step() : 0;
                ProgressBar bar = new ProgressBar(err(), first, numSteps, System.console() != null);
                LensTrainingResult result;
                try {
                    result = TunedLensTrainer.train(transformer, lens, chunks, options, bar);
                } catch (StoppedException e) {
                    throw new StoppedException(e.reason(), e.progress() + "; " + output + " was not written");
                }
                safePoint("after step " + numSteps + " of " + numSteps + ", before writing " + output
                        + "; it was not written");
                lens.save(output);
                report(result);
            }
        }
        return 0;
    }

    private LensTrainingOptions options() {
        try {
            return LensTrainingOptions.builder().numSteps(numSteps).tokensPerStep(tokensPerStep).maxSeqLen(maxSeqLen)
                    .perGpuBatchSize(batchSize).loss(choice(LensLoss.class, loss, "--loss")).tokenShift(tokenShift)
                    .optimizer(choice(LensOptimizer.class, optimizer, "--optimizer")).lrScale(lrScale)
                    .momentum(momentum).weightDecay(weightDecay).warmupSteps(warmupSteps).biasOnly(biasOnly)
                    .hook(residMid ? LensHook.RESID_MID : LensHook.RESID_PRE).seed(seed).repeatData(repeatData)
                    .checkpointFreq(checkpointFreq)
                    .checkpointDir(checkpointFreq > 0 ? (checkpointDir != null ? checkpointDir
                            : output.resolve("checkpoints")) : checkpointDir)
                    .build();
        } catch (LoupeException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private <E extends Enum<E>> E choice(Class<E> type, String value, String option) {
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equalsIgnoreCase(value)) {
                return constant;
            }
        }
        throw new ParameterException(spec.commandLine(), option + " must be one of "
                + java.util.Arrays.stream(type.getEnumConstants()).map(c -> c.name().toLowerCase(Locale.ROOT)).toList()
                + ", got '" + value + "'");
    }

    private void report(LensTrainingResult result) {
        double[] first = result.layerLosses().get(0);
        double[] last = result.layerLosses().get(result.layerLosses().size() - 1);
        out().printf(Locale.ROOT, "Trained %d steps (%.0f tokens/s, counting the model's forward); loss per layer"
                + " (nats), first → last step:%n", result.layerLosses().size(), result.tokensPerSecond());
        for (int layer = 0; layer < last.length; layer++) {
            out().printf(Locale.ROOT, "  layer %2d  %.4f → %.4f%n", layer, first[layer], last[layer]);
        }
        out().println("Wrote " + output.resolve("config.json") + " and " + output.resolve("params.pt"));
        out().flush();
    }
}
