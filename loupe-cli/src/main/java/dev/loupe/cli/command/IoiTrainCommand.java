package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.train.ProgressBar;
import dev.loupe.train.ioi.IoiScore;
import dev.loupe.train.ioi.IoiSplit;
import dev.loupe.train.ioi.IoiTask;
import dev.loupe.train.ioi.IoiTrainer;
import dev.loupe.train.ioi.IoiTrainingOptions;
import dev.loupe.train.ioi.IoiTrainingResult;
import dev.loupe.train.ioi.IoiVocabulary;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe train ioi}: a small transformer with MLPs trained on Loupe's synthetic IOI task. */
@Command(
        name = "ioi",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Train a small transformer with MLPs on a synthetic indirect-object-identification task.",
        description = {
            "",
            "Prompts are templated sentences over Loupe's own word-level vocabulary (names, places, objects,"
                    + " verbs; one token per word): \"When Mary and John went to the store , John gave a drink to\""
                    + " -> \"Mary\", in both name orders. The seed fixes which templates and which name pairs are"
                    + " held out of training (every name is still trained on with other partners), the initial"
                    + " weights and every batch. The loss is the answer's cross-entropy at the last position.",
            "",
            "OUT gets the model as a native folder (config.json, model.safetensors) with a WordLevel"
                    + " tokenizer.json, so `loupe shell` and HookedTransformer.fromPretrained read text, plus loss.csv,"
                    + " loss.svg and training.json (the logit difference IO - S on each split).",
            ""
        },
        footer = {
            "",
            "The shipped model was made with (see models/ioi-3l/MODEL.md):",
            "  loupe train ioi --out models/ioi-3l"
        })
final class IoiTrainCommand extends LoupeCommand {
    @Option(names = "--out", required = true, paramLabel = "OUT", description = "Folder to write the model into.")
    Path out;

    @Option(names = "--layers", paramLabel = "N", defaultValue = "3", description = "Layers (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--name", paramLabel = "NAME", description = "Model name in its config (default: ioi-<N>l).")
    String name;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "6000",
            description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of the split, the initial weights and every batch (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "64",
            description = "Prompts per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "1e-3",
            description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--d-model", paramLabel = "D", defaultValue = "64",
            description = "Residual width (default: ${DEFAULT-VALUE}).")
    int dModel;

    @Option(names = "--d-mlp", paramLabel = "D", defaultValue = "256",
            description = "MLP hidden width (default: ${DEFAULT-VALUE}).")
    int dMlp;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "4", description = "Heads per layer (default: ${DEFAULT-VALUE}).")
    int heads;

    @Mixin
    CheckpointOptions checkpointing;

    @Override
    protected int execute() throws IOException {
        useOneEngineThread();
        OutputCheck check = checkpointing.outputCheck(spec);
        check.refuseFolder("--out", out, "config.json", "model.safetensors", "tokenizer.json", "loss.csv", "loss.svg",
                "training.json");
        IoiTrainingOptions options = IoiTrainingOptions.builder().modelName(name != null ? name : "ioi-" + layers + "l")
                .nLayers(layers).dModel(dModel).nHeads(heads).dMlp(dMlp).steps(steps).batchSize(batchSize)
                .learningRate(learningRate).minLearningRate(learningRate / 10).seed(seed)
                .checkpointEvery(checkpointing.checkpointEvery).build();
        PrintWriter err = spec.commandLine().getErr();
        ProgressBar bar = new ProgressBar(err, 0, steps, System.console() != null);
        IoiTrainingResult result = IoiTrainer.train(options, out, checkpointing.checkpoints, checkpointing.resume, bar);
        PrintWriter o = out();
        o.printf(Locale.ROOT, "Trained %s (%d layers with MLPs, d_model %d, %d heads, d_mlp %d, vocabulary %d,"
                + " context %d)%n", options.modelName(), layers, dModel, heads, dMlp, IoiVocabulary.size(), IoiTask.N_CTX);
        o.printf(Locale.ROOT, "Steps              %d (this run: %d to %d), seed %d, %.1f s%n", steps,
                result.firstStep(), steps, seed, result.seconds());
        o.printf(Locale.ROOT, "Final train loss   %.4f (last step's batch, answer cross-entropy)%n", result.finalLoss());
        for (IoiSplit split : IoiSplit.values()) {
            IoiScore score = result.scores().get(split);
            o.printf(Locale.ROOT, "%-19s %s%n", split.name().toLowerCase(Locale.ROOT), score);
        }
        o.printf(Locale.ROOT, "Wrote %s (config.json, model.safetensors, tokenizer.json, loss.csv, loss.svg,"
                + " training.json)%n", out.toAbsolutePath().normalize());
        o.flush();
        return 0;
    }
}
