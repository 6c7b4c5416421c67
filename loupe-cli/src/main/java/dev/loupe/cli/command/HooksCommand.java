package dev.loupe.cli.command;

import ai.djl.ndarray.types.Shape;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.model.HookedTransformer;
import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe hooks}: every hook point of a model with its activation's shape. */
@Command(
        name = "hooks",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "List a model's hook points and the shapes of their activations.",
        description = {
            "",
            "Prints every hook point that fires, in TransformerLens's registration order (that of its"
                    + " model.hook_dict), one per line:",
            "  NAME  [SHAPE]",
            "for an input of --batch sequences of --pos tokens. The names are TransformerLens's: use them"
                    + " with `loupe cache --hooks` or with HookedTransformer's hooks API.",
            "",
            "In a mixture of experts (Mixtral), each expert's hooks have one row per token routed to it,"
                    + " shown as ? (it depends on the routing).",
            "",
            "Some hook points are off by default because they cost memory (TransformerLens's use_* flags);"
                    + " the flags below turn them on. None of them changes the logits.",
            ""
        },
        footer = {
            "",
            "Example:",
            "  loupe hooks --model testdata/models/gpt2 --pos 5 --attn-result"
        })
public final class HooksCommand extends LoupeCommand {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--pos", paramLabel = "N", defaultValue = "8",
            description = "Input length in tokens (default: ${DEFAULT-VALUE}).")
    long pos;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "1",
            description = "Number of sequences (default: ${DEFAULT-VALUE}).")
    long batch;

    @Option(names = "--attn-result", description = "Also blocks.L.attn.hook_result: each head's output [b, p, head, d_model].")
    boolean attnResult;

    @Option(names = "--split-qkv-input",
            description = "Also blocks.L.hook_q_input / hook_k_input / hook_v_input: per-head copies of the attention input.")
    boolean splitQkvInput;

    @Option(names = "--attn-in", description = "Also blocks.L.hook_attn_in [b, p, head, d_model].")
    boolean attnIn;

    @Option(names = "--mlp-in", description = "Also blocks.L.hook_mlp_in [b, p, d_model].")
    boolean mlpIn;

    @Option(names = "--hook-tokens", description = "Also hook_tokens [b, p], the input token ids.")
    boolean hookTokens;

    @Override
    protected int execute() {
        if (pos < 1) {
            throw new ParameterException(spec.commandLine(), "--pos must be at least 1, got " + pos);
        }
        if (batch < 1) {
            throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
        }
        try (HookedTransformer transformer = modelOptions.load()) {
            int nCtx = transformer.config().nCtx();
            if (pos > nCtx) {
                return fail("--pos " + pos + " is longer than the model's context of " + nCtx + " tokens (n_ctx)");
            }
            transformer.setUseAttnResult(attnResult);
            transformer.setUseSplitQkvInput(splitQkvInput);
            transformer.setUseAttnIn(attnIn);
            transformer.setUseHookMlpIn(mlpIn);
            transformer.setUseHookTokens(hookTokens);
            PrintWriter out = out();
            for (Map.Entry<String, Shape> hook : transformer.hookShapes(batch, pos).entrySet()) {
                out.println(hook.getKey() + "  " + shape(hook.getValue().getShape()));
            }
            out.flush();
        }
        return 0;
    }
}
