package dev.loupe.cli.command;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.LoupeException;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.SaeOption;
import dev.loupe.cli.support.TokenInput;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.eval.SaeEvalOptions;
import dev.loupe.sae.eval.SaeEvaluation;
import dev.loupe.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code loupe sae evals}: SAELens's {@code run_evals} metrics of one SAE on token ids (one or several batches,
 * special tokens optionally excluded), with its per-feature metrics.
 */
@Command(
        name = "evals",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Evaluate an SAE on token ids as SAELens's run_evals does; write the metrics as JSON.",
        description = {
            "",
            "IN is a safetensors file holding the int64 tensor input_ids [batch, pos]; every position is"
                    + " evaluated (attention_mask is not read). --batch-size rows make a batch (default: every row);"
                    + " the first --batches batches give both SAELens's reconstruction (CE, KL) and sparsity/variance"
                    + " metrics, averaged over batches as run_evals averages them. --exclude-special-tokens leaves the"
                    + " tokenizer's BOS, EOS and pad ids out of every per-token statistic (run_evals's"
                    + " exclude_special_tokens=True).",
            "",
            "OUT gets SAELens's groups and names: {\"model_behavior_preservation\": {\"kl_div_score\": …},"
                    + " \"model_performance_preservation\": {\"ce_loss_score\": …}, \"reconstruction_quality\","
                    + " \"shrinkage\", \"sparsity\", \"token_stats\"} and \"feature_metrics\" (run_evals's second result:"
                    + " arrays [d_sae] feature_density, consistent_activation_heuristic, encoder_norm,"
                    + " encoder_decoder_cosine_sim, encoder_bias; NaN written as -1, as SAELens's evals script does),"
                    + " written atomically; the scalar metrics are printed too."
                    + " Transcoders are not evaluated, as in SAELens.",
            "",
            "Weights: as `loupe sae run`, the model is loaded unprocessed (SAELens's from_pretrained_no_processing),"
                    + " or processed exactly as the SAE's cfg.json asks.",
            ""
        })
public final class SaeEvalsCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--sae", required = true, paramLabel = "DIR|RELEASE/ID", converter = SaeOption.Converter.class,
            description = SaeOption.HELP + ".")
    SaeOption saeOption;

    @Option(names = "--input", required = true, paramLabel = "IN",
            description = "safetensors file with input_ids [batch, pos] (int64).")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "OUT",
            description = "JSON file to write (replaced if it exists).")
    Path out;

    @Option(names = "--batch-size", paramLabel = "N",
            description = "Prompts (rows of input_ids) per batch, SAELens's batch_size_prompts (default: all rows).")
    Integer batchSize;

    @Option(names = "--batches", paramLabel = "N", defaultValue = "1",
            description = "Batches to evaluate: n_eval_reconstruction_batches = n_eval_sparsity_variance_batches"
                    + " (default: ${DEFAULT-VALUE}).")
    int batches;

    @Option(names = "--exclude-special-tokens",
            description = "Leave the tokenizer's BOS, EOS and pad tokens out of the statistics (needs the model's tokenizer).")
    boolean excludeSpecialTokens;

    @Override
    protected int execute() throws IOException {
        OutputCheck.of(spec).modelFolder(modelOptions.folder()).inputFolder("SAE", "--sae", saeOption.folder().orElse(null))
                .file("--input", input).refuseFile("--out", out);
        try (NDManager manager = NDManager.newBaseManager();
             Sae sae = saeOption.load(manager)) {
            TokenInput given = TokenInput.read(input, manager);
            Map<String, Map<String, Double>> metrics;
            SaeEvaluation evaluation;
            try (HookedTransformer transformer = modelOptions.load(
                    SaeRunCommand.basis(List.of(sae), List.of(saeOption), modelOptions))) {
                SaeEvalOptions options = SaeEvalOptions.of(batchSize != null ? batchSize
                        : (int) Math.max(1, given.ids().getShape().get(0)), batches);
                if (excludeSpecialTokens) {
                    if (!transformer.hasTokenizer()) {
                        throw new LoupeException("--exclude-special-tokens needs the model's tokenizer to know its special"
                                + " tokens, but " + modelOptions.folder() + " has none (" + Tokenizer.FILES + ")");
                    }
                    options = options.excluding(SaeEvalOptions.specialTokenIds(transformer.tokenizer()));
                }
                safePoint("before the evaluation; nothing was written");
                evaluation = SaeEvaluation.evaluate(transformer, sae, given.ids(), options);
                metrics = evaluation.asMap();
            }
            safePoint("after the evaluation, before writing " + out + "; nothing was written");
            Map<String, Object> json = new LinkedHashMap<>(metrics);
            json.put("feature_metrics", featureMetrics(evaluation.features()));
            AtomicFiles.writeString(out,
                    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(json));
            for (Map.Entry<String, Map<String, Double>> group : metrics.entrySet()) {
                for (Map.Entry<String, Double> metric : group.getValue().entrySet()) {
                    out().printf(Locale.ROOT, "%s.%s = %.6g%n", group.getKey(), metric.getKey(), metric.getValue());
                }
            }
            out().printf(Locale.ROOT, "Wrote %s%n", out);
            out().flush();
        }
        return 0;
    }

    /** run_evals's feature metrics by SAELens's names, NaN as -1 (SAELens's replace_nans_with_negative_one). */
    private static Map<String, double[]> featureMetrics(SaeEvaluation.Features features) {
        Map<String, double[]> map = new LinkedHashMap<>();
        map.put("feature_density", withoutNans(features.featureDensity()));
        map.put("consistent_activation_heuristic", withoutNans(features.consistentActivationHeuristic()));
        map.put("encoder_norm", withoutNans(features.encoderNorm()));
        map.put("encoder_decoder_cosine_sim", withoutNans(features.encoderDecoderCosineSim()));
        if (features.encoderBias() != null) {
            map.put("encoder_bias", withoutNans(features.encoderBias()));
        }
        return map;
    }

    private static double[] withoutNans(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.isNaN(values[i]) ? -1 : values[i];
        }
        return out;
    }

}
