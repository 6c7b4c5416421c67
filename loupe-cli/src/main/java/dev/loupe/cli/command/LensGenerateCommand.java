package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.TokenInput;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.lens.Lens;
import dev.loupe.lens.decode.LayerDecoding;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe lens generate}: generation whose next token is read through a lens at an intermediate layer. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Continue texts or token ids, reading each next token through a lens at layer I.",
        description = {
            "",
            "The tuned-lens library's TunedLens.generate: every step runs the model over the new tokens, reads"
                    + " the residual entering block I at the last position through the lens (translator I for a"
                    + " tuned lens), and takes the most likely token (--sample: draws it, as loupe generate does)."
                    + " Batches and the key/value cache work as in loupe generate; the library's version re-feeds"
                    + " the whole sequence into its cache each step, which changes the tokens, and breaks on"
                    + " batches. Loupe's tokens are those of a plain recomputation at every step.",
            "",
            "IN is a safetensors file with int64 input_ids [batch, pos] and optionally attention_mask (padding on"
                    + " the left). OUT gets output_ids [batch, pos + generated] (int64).",
            "",
            ModelOptions.LENS_BASIS_DESCRIPTION,
            ""
        },
        footer = {
            "",
            "Example:",
            "  loupe lens generate --model testdata/models/gpt2-tok --lens testdata/lens \\",
            "    --layer 1 --prompt 'The capital of France is' --max-new-tokens 8"
        })
final class LensGenerateCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"--lens", "-l"}, required = true, paramLabel = "logit|DIR",
            description = "logit for the logit lens, or a tuned lens folder (config.json + params.pt).")
    String lens;

    @Option(names = "--layer", required = true, paramLabel = "I",
            description = "The layer to read the next token at (0 = the embeddings; negative counts from the end).")
    int layer;

    @Mixin
    GenerationOptions generation;

    @Override
    protected int execute() throws IOException {
        generation.check();
        GenerateOptions options = generation.toGenerateOptions(UnaryOperator.identity());
        LensChoice choice = LensChoice.parse(lens);
        generation.checkFiles(modelOptions.folder(), choice.isLogit() ? null : choice.dir());
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer transformer = modelOptions.load(choice.basis())) {
            generation.requireEndOfSequence(transformer);
            TokenInput prompt = generation.readPrompt(transformer, modelOptions.folder(), options, manager);
            NDArray ids = prompt.ids();
            NDArray mask = prompt.attentionMask() == null ? null : prompt.attentionMask().toType(DataType.INT64, false);
            Lens opened = choice.open(transformer);
            try {
                NDArray all = LayerDecoding.generate(transformer, opened, layer, ids, mask, options);
                generation.printRows(transformer, all, mask, (int) ids.getShape().get(1), false);
                generation.write(all, mask, "after generating");
            } finally {
                LensChoice.close(opened);
            }
            out().flush();
            err().flush();
        }
        return 0;
    }
}
