package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.lens.LensBasis;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.format.ActivationNormalization;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.sae.format.SaeFiles;
import dev.loupe.sae.train.ActivationSource;
import dev.loupe.sae.train.ActivationStore;
import dev.loupe.sae.train.ModelActivations;
import dev.loupe.sae.train.SaeTrainer;
import dev.loupe.sae.train.SaeTrainingConfig;
import dev.loupe.sae.train.StoredActivations;
import dev.loupe.sae.train.TrainedSae;
import dev.loupe.sae.train.TrainingStepLog;
import dev.loupe.tokenize.TextDocuments;
import dev.loupe.tokenize.TokenChunks;
import dev.loupe.train.ProgressBar;
import dev.loupe.train.TrainingCheckpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe sae train}: an SAE trained on one hook's activations as SAELens's training runner trains it. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Train a standard, topk or jumprelu SAE on a hook's activations, as SAELens 6.18 trains it.",
        description = {
            "",
            "TOKENS is a safetensors file with integer token ids [n, ctx] (tensor --tokens-key, default tokens),"
                    + " used as they are (no BOS added); or --text files, cut into --context-size sequences; or an"
                    + " activation store (--activations), written by an earlier --save-activations. The"
                    + " model is loaded unprocessed, as SAELens's runner loads it (from_pretrained_no_processing);"
                    + " activations of --hook are harvested --store-batch-size-prompts sequences at a time into a"
                    + " buffer of --n-batches-in-buffer batches that is shuffled across batches. Every option"
                    + " defaults to SAELens's LanguageModelSAERunnerConfig (lr 3e-4, Adam, batch 4096 tokens, ...);"
                    + " steps = --training-tokens / --train-batch-size-tokens.",
            "",
            "OUT gets SAELens's files: cfg.json (with the trained-SAE metadata), sae_weights.safetensors,"
                    + " sparsity.safetensors, plus loss_curve.json (every step's loss terms, L0, explained variance,"
                    + " dead features, lr) and, with --eval-tokens-key, evals.json (SAELens's run_evals metrics on"
                    + " those held-out tokens). --checkpoint-dir saves the whole state every --checkpoint-every steps"
                    + " and when stopped; --resume continues from it exactly.",
            ""
        })
public final class SaeTrainCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--hook", required = true, paramLabel = "NAME", description = "Hook point to train on.")
    String hook;

    @Option(names = "--tokens", paramLabel = "TOKENS", description = "safetensors file of token ids (or --text).")
    Path tokensFile;

    @Option(names = "--text", paramLabel = "FILE", arity = "1..*",
            description = "Text corpus instead of --tokens: .jsonl (a text column) or .txt files, tokenized and cut into"
                    + " --context-size sequences as the tuned-lens library's chunk_and_tokenize (EOS between documents).")
    List<Path> textFiles;

    @Option(names = "--activations", paramLabel = "STORE",
            description = "Train on an activation store (written by --save-activations or ActivationStore) instead of"
                    + " running the model; sequences are --context-size long.")
    Path activationsDir;

    @Option(names = "--save-activations", paramLabel = "STORE",
            description = "First harvest every sequence of --tokens / --text once into this activation store (safetensors"
                    + " shards + manifest.json), then train from it; other SAEs can train on it with --activations.")
    Path saveActivations;

    @Option(names = "--shard-tokens", defaultValue = "1048576", paramLabel = "N",
            description = "Activations per shard of --save-activations (default: ${DEFAULT-VALUE}).")
    int shardTokens;

    @Option(names = "--text-column", defaultValue = "text", paramLabel = "NAME",
            description = "The .jsonl field holding the text (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(names = "--context-size", defaultValue = "128", paramLabel = "N",
            description = "With --text: tokens per sequence (default: ${DEFAULT-VALUE}, SAELens's context_size).")
    int contextSize;

    @Option(names = "--tokens-key", defaultValue = "tokens", paramLabel = "KEY",
            description = "Tensor of TOKENS to train on (default: ${DEFAULT-VALUE}).")
    String tokensKey;

    @Option(names = "--eval-tokens-key", paramLabel = "KEY",
            description = "Tensor of TOKENS to evaluate the trained SAE on (SAELens's run_evals).")
    String evalTokensKey;

    @Option(names = "--architecture", required = true, paramLabel = "standard|topk|jumprelu")
    String architecture;

    @Option(names = "--d-sae", required = true, paramLabel = "N", description = "Number of features.")
    int dSae;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "Folder to write the SAE into.")
    Path out;

    @Option(names = "--k", paramLabel = "K", description = "topk: active features per token (default 100).")
    Integer k;

    @Option(names = "--l1-coefficient", paramLabel = "C") Double l1Coefficient;
    @Option(names = "--l1-warm-up-steps", paramLabel = "N") Integer l1WarmUpSteps;
    @Option(names = "--l0-coefficient", paramLabel = "C") Double l0Coefficient;
    @Option(names = "--l0-warm-up-steps", paramLabel = "N") Integer l0WarmUpSteps;
    @Option(names = "--jumprelu-bandwidth", paramLabel = "E") Double bandwidth;
    @Option(names = "--jumprelu-init-threshold", paramLabel = "T") Double initThreshold;
    @Option(names = "--aux-loss-coefficient", paramLabel = "C") Double auxLossCoefficient;
    @Option(names = "--training-tokens", paramLabel = "N") Long trainingTokens;
    @Option(names = "--train-batch-size-tokens", paramLabel = "N") Integer batchTokens;
    @Option(names = "--store-batch-size-prompts", paramLabel = "N") Integer storePrompts;
    @Option(names = "--n-batches-in-buffer", paramLabel = "N") Integer bufferBatches;
    @Option(names = "--lr", paramLabel = "LR") Double lr;
    @Option(names = "--lr-warm-up-steps", paramLabel = "N") Integer lrWarmUpSteps;
    @Option(names = "--lr-decay-steps", paramLabel = "N") Integer lrDecaySteps;
    @Option(names = "--dead-feature-window", paramLabel = "N") Integer deadFeatureWindow;
    @Option(names = "--feature-sampling-window", paramLabel = "N") Integer featureSamplingWindow;

    @Option(names = "--normalize-activations", defaultValue = "none", paramLabel = "none|expected_average_only_in")
    String normalizeActivations;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S",
            description = "Seeds the initial weights and the buffer's shuffles (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "Folder for checkpoints (default: none).")
    Path checkpoints;

    @Option(names = "--checkpoint-every", defaultValue = "1000", paramLabel = "N",
            description = "Steps between checkpoints (default: ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--resume", description = "Continue from the checkpoint in --checkpoint-dir, if there is one.")
    boolean resume;

    @Override
    protected int execute() throws IOException {
        useOneEngineThread();
        SaeArchitecture arch = SaeArchitecture.fromJson(architecture, "--architecture");
        if (resume && checkpoints == null) {
            throw new ParameterException(spec.commandLine(), "--resume needs --checkpoint-dir DIR (the interrupted"
                    + " run's checkpoint folder)");
        }
        int sources = (tokensFile != null ? 1 : 0) + (textFiles != null ? 1 : 0) + (activationsDir != null ? 1 : 0);
        if (sources != 1) {
            throw new ParameterException(spec.commandLine(), "Give the training data as --tokens TOKENS.safetensors,"
                    + " --text FILE... or --activations STORE, one of them");
        }
        if (saveActivations != null && activationsDir != null) {
            throw new ParameterException(spec.commandLine(), "--save-activations harvests --tokens or --text into a"
                    + " store; --activations already is one");
        }
        if (textFiles != null && evalTokensKey != null) {
            throw new ParameterException(spec.commandLine(), "--eval-tokens-key reads held-out ids from --tokens;"
                    + " with --text there is no such file");
        }
        OutputCheck check = OutputCheck.of(spec).modelFolder(modelOptions.folder());
        if (tokensFile != null) {
            check.file("--tokens", tokensFile);
        } else if (textFiles != null) {
            check.files("--text", textFiles);
        } else {
            check.inputFolder("the activation store", "--activations", activationsDir);
        }
        check.refuseFolder("--save-activations", saveActivations, ActivationStore.MANIFEST);
        check.refuseFolder("--out", out, SaeFiles.CFG, SaeFiles.WEIGHTS, TrainedSae.SPARSITY, "loss_curve.json",
                "evals.json");
        check.refuseFolder("--checkpoint-dir", checkpoints, TrainingCheckpoint.JSON, TrainingCheckpoint.TENSORS);
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer model = modelOptions.load(LensBasis.HUGGING_FACE)) {
            NDArray evalTokens = evalTokensKey == null ? null : read(tokensFile, evalTokensKey, manager);
            SaeTrainingConfig cfg;
            ActivationSource source;
            if (activationsDir != null) {
                ActivationStore.Manifest manifest = ActivationStore.read(activationsDir);
                if (!hook.equals(manifest.hookName())) {
                    throw new LoupeException(activationsDir + " holds activations of " + manifest.hookName() + ", not "
                            + hook + "; give --hook " + manifest.hookName());
                }
                cfg = config(arch, manifest.dIn(), contextSize);
                source = new StoredActivations(activationsDir, cfg.storeBatchSizePrompts() * contextSize, manager);
            } else {
                NDArray tokens = tokensFile != null ? read(tokensFile, tokensKey, manager) : chunks(model, manager);
                cfg = config(arch, width(model, tokens), (int) tokens.getShape().get(1));
                ModelActivations harvest = new ModelActivations(model, tokens, hook, cfg.dIn(),
                        cfg.storeBatchSizePrompts(), manager);
                source = harvest;
                if (saveActivations != null) {
                    ActivationStore.write(saveActivations, harvest, hook, tokens.size(), shardTokens);
                    safePoint("after writing the activation store " + saveActivations + ", before training");
                    source = new StoredActivations(saveActivations, cfg.storeBatchSizePrompts() * cfg.contextSize(),
                            manager);
                }
            }
            ProgressBar bar = new ProgressBar(err(), 0, cfg.totalSteps(), System.console() != null);
            try (TrainedSae trained = SaeTrainer.train(cfg, source,
                    new SaeTrainer.Checkpoints(checkpoints, checkpointEvery, resume), bar, manager)) {
                Map<String, Map<String, Double>> evals = null;
                if (evalTokens != null) {
                    safePoint("after training, before the evaluation; nothing was written to " + out);
                    evals = trained.evaluate(model, evalTokens).asMap();
                }
                safePoint("before writing " + out);
                write(trained, evals);
                report(trained, evals);
            }
        }
        return 0;
    }

    private SaeTrainingConfig config(SaeArchitecture arch, int dIn, int contextSize) {
        SaeTrainingConfig.Builder b = SaeTrainingConfig.builder(arch, hook, dIn, dSae).contextSize(contextSize)
                .seed(seed).modelName(modelOptions.given())
                .datasetPath(String.valueOf(tokensFile != null ? tokensFile : textFiles != null ? textFiles.get(0)
                        : activationsDir))
                .normalizeActivations(ActivationNormalization.fromJson(normalizeActivations, "--normalize-activations"));
        if (k != null) { b.k(k); }
        if (l1Coefficient != null) { b.l1Coefficient(l1Coefficient); }
        if (l1WarmUpSteps != null) { b.l1WarmUpSteps(l1WarmUpSteps); }
        if (l0Coefficient != null) { b.l0Coefficient(l0Coefficient); }
        if (l0WarmUpSteps != null) { b.l0WarmUpSteps(l0WarmUpSteps); }
        if (bandwidth != null) { b.jumpreluBandwidth(bandwidth); }
        if (initThreshold != null) { b.jumpreluInitThreshold(initThreshold); }
        if (auxLossCoefficient != null) { b.auxLossCoefficient(auxLossCoefficient); }
        if (trainingTokens != null) { b.trainingTokens(trainingTokens); }
        if (batchTokens != null) { b.trainBatchSizeTokens(batchTokens); }
        if (storePrompts != null) { b.storeBatchSizePrompts(storePrompts); }
        if (bufferBatches != null) { b.nBatchesInBuffer(bufferBatches); }
        if (lr != null) { b.lr(lr); }
        if (lrWarmUpSteps != null) { b.lrWarmUpSteps(lrWarmUpSteps); }
        if (lrDecaySteps != null) { b.lrDecaySteps(lrDecaySteps); }
        if (deadFeatureWindow != null) { b.deadFeatureWindow(deadFeatureWindow); }
        if (featureSamplingWindow != null) { b.featureSamplingWindow(featureSamplingWindow); }
        return b.build();
    }

    /** The width of the hook's activations per token (hook_z: n_heads·d_head), from one sequence. */
    private int width(HookedTransformer model, NDArray tokens) {
        if (!model.hookNames().contains(hook)) {
            throw new LoupeException("The model has no hook point " + hook + "; `loupe hooks --model "
                    + modelOptions.given() + " --pos 1` lists them");
        }
        try (NDManager scratch = tokens.getManager().newSubManager()) {
            NDArray one = tokens.get("0:1");
            one.attach(scratch);
            try (ActivationCache cache = model.runWithCache(one, CacheOptions.filtered(hook::equals))) {
                long[] shape = cache.get(hook).getShape().getShape();
                return (int) (cache.get(hook).size() / (shape[0] * shape[1]));
            }
        }
    }

    /** The --text corpus as token ids [n, context_size]. */
    private NDArray chunks(HookedTransformer model, NDManager manager) {
        requireTokenizer(model, modelOptions.folder(), "--text", "--tokens with token ids");
        TokenChunks chunks = TokenChunks.of(TextDocuments.read(textFiles, textColumn), model.tokenizer(), contextSize);
        return manager.create(chunks.batch(0, chunks.chunks().size()), new Shape(chunks.chunks().size(), contextSize));
    }

    private static NDArray read(Path file, String key, NDManager manager) {
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            if (!in.contains(key)) {
                throw new LoupeException(file + " has no tensor '" + key + "' (it holds " + in.names()
                        + "); name the token ids with --tokens-key / --eval-tokens-key");
            }
            NDArray tokens = in.load(key, manager);
            if (tokens.getShape().dimension() != 2 || tokens.getDataType().isFloating()) {
                throw new LoupeException(file + ": " + key + " must be integer token ids [n, ctx], got "
                        + tokens.getDataType() + " " + tokens.getShape());
            }
            return tokens;
        }
    }

    private void write(TrainedSae trained, Map<String, Map<String, Double>> evals) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        trained.save(out);
        String term = TrainedSae.sparsityTermName(trained.cfg().architecture());
        List<Map<String, Object>> curve = trained.curve().stream().map(s -> s.asMap(term)).toList();
        AtomicFiles.writeString(out.resolve("loss_curve.json"), json.writeValueAsString(curve));
        if (evals != null) {
            AtomicFiles.writeString(out.resolve("evals.json"), json.writeValueAsString(evals));
        }
    }

    private void report(TrainedSae trained, Map<String, Map<String, Double>> evals) {
        TrainingStepLog last = trained.last();
        SaeTrainingConfig cfg = trained.cfg();
        out().printf(Locale.ROOT, "Trained a %s SAE on %s: d_in %d -> d_sae %d, %d steps of %d tokens (this run from"
                + " step %d)%n", cfg.architecture().jsonName(), cfg.hookName(), cfg.dIn(), cfg.dSae(), cfg.totalSteps(),
                cfg.trainBatchSizeTokens(), trained.firstStep());
        out().printf(Locale.ROOT, "Last step: loss %.4f, mse %.4f, %s %.4f, L0 %.2f, explained variance %.4f,"
                + " dead features %d%n", last.loss(), last.mseLoss(), TrainedSae.sparsityTermName(cfg.architecture()),
                last.sparsityLoss(), last.l0(), last.explainedVariance(), trained.deadFeatures());
        if (evals != null) {
            for (Map.Entry<String, Map<String, Double>> group : evals.entrySet()) {
                for (Map.Entry<String, Double> metric : group.getValue().entrySet()) {
                    out().printf(Locale.ROOT, "%s.%s = %.6g%n", group.getKey(), metric.getKey(), metric.getValue());
                }
            }
        }
        out().printf(Locale.ROOT, "Wrote %s%n", out);
        out().flush();
    }
}
