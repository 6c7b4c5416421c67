package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.train.ProgressBar;
import dev.loupe.train.toy.PhaseRecord;
import dev.loupe.train.toy.PhaseTracker;
import dev.loupe.train.toy.ToyTrainer;
import dev.loupe.train.toy.ToyTrainingOptions;
import dev.loupe.train.toy.ToyTrainingResult;
import dev.loupe.viz.PhaseChangeView;
import dev.loupe.viz.PngExport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe train toy}: an attention-only toy model trained on repeated random tokens. */
@Command(
        name = "toy",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Train a small attention-only model on repeated random tokens (induction heads form in 2 layers).",
        description = {
            "",
            "Each training sequence is BOS (token 0) then pairs \"segment of random tokens, the same segment"
                    + " again\" up to the context length; segment lengths are random, short ones more often, so"
                    + " only an induction circuit (a previous-token head feeding a head that attends to the token"
                    + " after the current token's earlier occurrence) predicts the second copies. One layer cannot"
                    + " build that circuit, which makes the 1-layer model a contrast.",
            "",
            "Training uses AdamW, a linear warm-up then cosine decay of the learning rate, and global"
                    + " gradient-norm clipping. The seed fixes the initial weights and every batch: within one"
                    + " process a run repeats exactly; across processes (one PyTorch thread, MKL_CBWR"
                    + " pinned by the loupe script to the CPU's widest deterministic code branch) libtorch may"
                    + " still round a little differently after a while, and"
                    + " the final losses agree to about 1e-4. --checkpoint-dir saves the whole state every"
                    + " --checkpoint-every steps and --resume continues from it as if never interrupted.",
            "",
            "OUT gets the model as a native folder (config.json with TransformerLens's config keys,"
                    + " model.safetensors with TransformerLens's parameter names), which `loupe demo --model OUT`,"
                    + " `loupe cache --model OUT` and HookedTransformer.fromPretrained read, plus loss.csv,"
                    + " loss.svg and training.json.",
            ""
        },
        footer = {
            "",
            "The shipped models were made with (see models/*/MODEL.md):",
            "  loupe train toy --layers 2 --out models/induction-2l",
            "  loupe train toy --layers 1 --out models/attn-only-1l",
            "The phase-change tutorial's runs (docs/tutorials/phase-change.md):",
            "  loupe train toy --layers 2 --steps 3000 --out DIR --track DIR/track"
        })
final class ToyTrainCommand extends LoupeCommand {
    @Option(names = "--layers", required = true, paramLabel = "N", description = "Number of attention layers.")
    int layers;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "Folder to write the model into.")
    Path out;

    @Option(names = "--name", paramLabel = "NAME",
            description = "Model name in its config (default: induction-2l for 2 layers, attn-only-<N>l otherwise).")
    String name;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "6000",
            description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of the initial weights and of every batch (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "32",
            description = "Sequences per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "2e-3",
            description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--d-model", paramLabel = "D", defaultValue = "64",
            description = "Residual width (default: ${DEFAULT-VALUE}).")
    int dModel;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "4", description = "Heads per layer (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--vocab", paramLabel = "V", defaultValue = "300",
            description = "Vocabulary size, token 0 being BOS (default: ${DEFAULT-VALUE}).")
    int vocab;

    @Option(names = "--context", paramLabel = "T", defaultValue = "64",
            description = "Context length n_ctx (default: ${DEFAULT-VALUE}).")
    int context;

    @Option(names = "--positions", paramLabel = "rotary|standard", defaultValue = "rotary",
            description = "Positional embedding (default: ${DEFAULT-VALUE}; with standard learned positions a model"
                    + " can also solve the task through positions instead of a previous-token head).")
    String positions;

    @Mixin
    CheckpointOptions checkpointing;

    @Option(names = "--track", paramLabel = "DIR",
            description = "Record the induction-head phase change into DIR: every --track-every steps the held-out"
                    + " loss, the in-context-learning score and every head's induction and previous-token score"
                    + " (DIR/tracking.csv, growing as the run goes), drawn at the end into DIR/phase-change.png.")
    Path track;

    @Option(names = "--track-every", paramLabel = "N", defaultValue = "50",
            description = "Steps between tracking records (default: ${DEFAULT-VALUE}).")
    int trackEvery;

    @Override
    protected int execute() throws IOException {
        useOneEngineThread();
        OutputCheck check = checkpointing.outputCheck(spec);
        check.refuseFolder("--out", out, "config.json", "model.safetensors", "loss.csv", "loss.svg", "training.json");
        int maxRepeat = (context - 1) / 2;
        ToyTrainingOptions options = ToyTrainingOptions.builder().modelName(name != null ? name : defaultName(layers))
                .nLayers(layers).dModel(dModel).nHeads(heads).dVocab(vocab).nCtx(context).positionalEmbeddingType(positions)
                .maxRepeat(maxRepeat).minRepeat(Math.min(2, maxRepeat)).steps(steps).batchSize(batchSize)
                .learningRate(learningRate).minLearningRate(learningRate / 10).seed(seed)
                .checkpointEvery(checkpointing.checkpointEvery).build();
        PrintWriter err = spec.commandLine().getErr();
        ProgressBar bar = new ProgressBar(err, 0, steps, System.console() != null);
        PhaseTracker tracker = track == null ? null : new PhaseTracker(track, trackEvery, options);
        ToyTrainingResult result = ToyTrainer.train(options, out, checkpointing.checkpoints, checkpointing.resume, bar, tracker);
        PrintWriter o = out();
        o.printf(Locale.ROOT, "Trained %s (%d attention-only layer%s, d_model %d, %d heads, vocabulary %d, context %d,"
                + " %s positions)%n", options.modelName(), layers, layers == 1 ? "" : "s", dModel, heads, vocab, context,
                positions);
        o.printf(Locale.ROOT, "Steps              %d (this run: %d to %d), seed %d, %.1f s%n", steps,
                result.firstStep(), steps, seed, result.seconds());
        o.printf(Locale.ROOT, "Final train loss   %.4f (last step's batch)%n", result.finalLoss());
        o.printf(Locale.ROOT, "Evaluation loss    %.4f (64 held-out training-like sequences)%n", result.evaluationLoss());
        o.printf(Locale.ROOT, "Repeated sequences first half %.4f, repeated half %.4f (%.1f %%)%n",
                result.halves().firstHalf(), result.halves().repeatedHalf(), 100 * result.halves().ratio());
        o.printf(Locale.ROOT, "Wrote %s (config.json, model.safetensors, loss.csv, loss.svg, training.json)%n",
                out.toAbsolutePath().normalize());
        if (tracker != null) {
            List<PhaseRecord> records = PhaseRecord.read(tracker.file());
            Path picture = PngExport.write(PhaseChangeView.render(options.modelName(), records),
                    track.resolve("phase-change.png"));
            o.printf(Locale.ROOT, "Tracked %d steps into %s and %s%n", records.size(), tracker.file(), picture);
        }
        o.flush();
        return 0;
    }

    private static String defaultName(int layers) {
        return layers == 2 ? "induction-2l" : "attn-only-" + layers + "l";
    }
}
