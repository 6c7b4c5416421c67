package dev.loupe.cli.command;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.SaeOption;
import dev.loupe.cli.support.TokenInput;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.eval.SaeEvaluation;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe sae evals}: SAELens's {@code run_evals} metrics of one SAE on a batch of token ids. */
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
                    + " evaluated (attention_mask is not read).",
            "",
            "OUT gets SAELens's groups and names: {\"model_behavior_preservation\": {\"kl_div_score\": …},"
                    + " \"model_performance_preservation\": {\"ce_loss_score\": …}, \"reconstruction_quality\","
                    + " \"shrinkage\", \"sparsity\", \"token_stats\"}, written atomically; they are printed too."
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

    @Override
    protected int execute() throws IOException {
        OutputCheck.of(spec).modelFolder(modelOptions.folder()).inputFolder("SAE", "--sae", saeOption.folder().orElse(null))
                .file("--input", input).refuseFile("--out", out);
        try (NDManager manager = NDManager.newBaseManager();
             Sae sae = saeOption.load(manager)) {
            TokenInput given = TokenInput.read(input, manager);
            Map<String, Map<String, Double>> metrics;
            try (HookedTransformer transformer = modelOptions.load(
                    SaeRunCommand.basis(List.of(sae), List.of(saeOption), modelOptions))) {
                safePoint("before the evaluation; nothing was written");
                metrics = SaeEvaluation.evaluate(transformer, sae, given.ids()).asMap();
            }
            safePoint("after the evaluation, before writing " + out + "; nothing was written");
            AtomicFiles.writeString(out,
                    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(metrics));
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

}
