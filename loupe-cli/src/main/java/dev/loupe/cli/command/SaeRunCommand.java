package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.SaeOption;
import dev.loupe.cli.support.TokenInput;
import dev.loupe.config.WeightProcessingStep;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.lens.LensBasis;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.sae.Sae;
import dev.loupe.sae.splice.ModelCompatibility;
import dev.loupe.sae.splice.SaeRuns;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe sae run}: run token ids with SAEs spliced in and write the logits and the SAEs' activations. */
@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Run token ids with SAEs spliced in; write the logits and each SAE's features and reconstruction.",
        description = {
            "",
            "As SAELens's HookedSAETransformer.run_with_cache_with_saes: each SAE replaces the activation at its"
                    + " hook point by its reconstruction, and SAEs at later hook points see what earlier ones"
                    + " produced. A transcoder reading hook H and writing hook H' replaces H''s activation by its"
                    + " output computed from H's.",
            "",
            "IN is a safetensors file holding the int64 tensor input_ids [batch, pos] and, optionally,"
                    + " attention_mask [batch, pos] (int64 or bool; 1 = real token, 0 = padding).",
            "",
            "OUT gets float32 logits [batch, pos, d_vocab] and, for each SAE replacing hook H,"
                    + " H.hook_sae_acts_post [batch, pos, d_sae] and H.hook_sae_recons (flat"
                    + " [batch, pos, n_heads*d_head] for hook_z, before any de-normalisation, as SAELens's hooks"
                    + " see them), plus H.hook_sae_error (H's own shape) with --use-error-term; for a transcoder"
                    + " reading H and writing H', H.hook_sae_acts_post and H' (the activation it put in H''s place),"
                    + " plus H'.hook_sae_error with --use-error-term. OUT is written atomically: complete or absent.",
            "",
            "Weights: SAELens loads the model unprocessed (from_pretrained_no_processing), so the model is loaded"
                    + " unprocessed (as with --no-processing), or processed exactly as the SAEs' cfg.json asks"
                    + " (model_from_pretrained_kwargs, e.g. {\"fold_ln\": true}).",
            ""
        },
        footer = {
            "",
            "Example: two SAEs, with the error term (logits then equal the model's own).",
            "  loupe sae run --model testdata/models/gpt2 \\",
            "    --sae testdata/sae/gpt2/standard_resid_pre_l0 \\",
            "    --sae testdata/sae/gpt2/jumprelu_z_l0 \\",
            "    --input testdata/sae/gpt2/multi/reference.safetensors \\",
            "    --out out.safetensors --use-error-term",
            "",
            "Example: a released SAE by name (SAELens's release/id; downloaded once, then read from the cache).",
            "  loupe sae run --model gpt2 --sae gpt2-small-res-jb/blocks.0.hook_resid_pre \\",
            "    --input in.safetensors --out out.safetensors"
        })
public final class SaeRunCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--sae", required = true, paramLabel = "DIR|RELEASE/ID", converter = SaeOption.Converter.class,
            description = SaeOption.HELP + "; a transcoder folder too. Repeat for several.")
    List<SaeOption> saeOptions;

    @Option(names = "--input", required = true, paramLabel = "IN",
            description = "safetensors file with input_ids [batch, pos] (int64) and optionally attention_mask.")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "OUT",
            description = "safetensors file to write (replaced if it exists).")
    Path out;

    @Option(names = "--use-error-term",
            description = "Add each SAE's error (activation - reconstruction) back, so the run's activations are the"
                    + " model's own, and write H.hook_sae_error.")
    boolean useErrorTerm;

    @Override
    protected int execute() {
        OutputCheck check = OutputCheck.of(spec).modelFolder(modelOptions.folder());
        for (SaeOption sae : saeOptions) {
            check.inputFolder("SAE", "--sae", sae.folder().orElse(null));
        }
        check.file("--input", input).refuseFile("--out", out);
        try (NDManager manager = NDManager.newBaseManager()) {
            TokenInput given = TokenInput.read(input, manager);
            List<Sae> saes = new ArrayList<>();
            try {
                for (SaeOption sae : saeOptions) {
                    saes.add(sae.load(manager));
                }
                try (HookedTransformer transformer = modelOptions.load(basis(saes, saeOptions, modelOptions))) {
                    run(transformer, saes, given);
                }
            } finally {
                saes.forEach(Sae::close);
            }
        }
        return 0;
    }

    private void run(HookedTransformer transformer, List<Sae> saes, TokenInput given) {
        List<String> points = new ArrayList<>(List.of(Sae.HOOK_ACTS_POST, Sae.HOOK_RECONS));
        if (useErrorTerm) {
            points.add(Sae.HOOK_ERROR);
        }
        // Cache key → name in OUT. An SAE's points are written as cached, under the hook it reads and replaces.
        // A transcoder's points live at the hook it writes (H'), where the splice puts them; OUT names its features
        // after the hook it reads (H.hook_sae_acts_post) and its output after the activation it replaces (H').
        Map<String, String> keys = new LinkedHashMap<>();
        for (Sae sae : saes) {
            if (sae.isTranscoder()) {
                String written = sae.cfg().hookNameOut();
                keys.put(written + "." + Sae.HOOK_ACTS_POST, sae.hookName() + "." + Sae.HOOK_ACTS_POST);
                keys.put(written + "." + Sae.HOOK_RECONS, written);
                if (useErrorTerm) {
                    keys.put(written + "." + Sae.HOOK_ERROR, written + "." + Sae.HOOK_ERROR);
                }
            } else {
                // hookPoint() is where the splice sits (blocks.L.mlp.hook_in resolves to blocks.L.ln2.hook_normalized).
                points.forEach(point -> keys.put(sae.hookPoint() + "." + point, sae.hookName() + "." + point));
            }
        }
        // Only the SAEs' points are kept: the whole cache of a large model would not fit.
        CacheOptions options = CacheOptions.matching(keys.keySet().stream().map(Pattern::quote)
                        .collect(Collectors.joining("|")))
                .withForward(ForwardOptions.builder().attentionMask(given.attentionMask()).build());
        safePoint("before the forward pass; nothing was written");
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(transformer, given.ids(), options, saes, useErrorTerm,
                List.of())) {
            tensors.put("logits", cache.logits().toType(DataType.FLOAT32, false));
            for (Map.Entry<String, String> key : keys.entrySet()) {
                if (!cache.keys().contains(key.getKey())) {
                    throw new LoupeException("The run cached no " + key.getKey() + "; is the SAE's hook point in this"
                            + " model?");
                }
                tensors.put(key.getValue(), cache.get(key.getKey()).toType(DataType.FLOAT32, false));
            }
            safePoint("after the forward pass, before writing " + out + "; nothing was written");
            SafetensorsWriter.write(out, tensors);
        }
        out().printf(Locale.ROOT, "Wrote logits %s and %d SAE activation%s (%d SAE%s%s) to %s%n",
                shape(tensors.get("logits").getShape().getShape()), keys.size(), keys.size() == 1 ? "" : "s",
                saes.size(), saes.size() == 1 ? "" : "s", useErrorTerm ? ", with the error term" : "", out);
        out().flush();
    }

    /**
     * The basis the SAEs were trained in (SAELens's no-processing load plus the cfg's kwargs); every SAE of
     * one run must agree, since they are spliced into one model. {@code loupe sae evals} loads by the same rule.
     */
    static LensBasis basis(List<Sae> saes, List<SaeOption> given, ModelOptions modelOptions) {
        Set<WeightProcessingStep> wanted = null;
        for (int i = 0; i < saes.size(); i++) {
            Set<WeightProcessingStep> steps = ModelCompatibility.wantedProcessing(saes.get(i).cfg().modelFromPretrainedKwargs());
            if (wanted != null && !wanted.equals(steps)) {
                throw new LoupeException("The SAEs need the model processed differently: " + given.get(0) + " asks for "
                        + wanted + ", " + given.get(i) + " for " + steps + "; run them separately");
            }
            wanted = steps;
        }
        if (!wanted.isEmpty() && !modelOptions.processed()) {
            throw new LoupeException("--no-processing contradicts the SAEs, which were trained on the model processed"
                    + " with " + wanted + "; leave --no-processing out");
        }
        return new LensBasis(List.copyOf(wanted));
    }
}
