package dev.loupe.cli.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.config.WeightDtype;
import dev.loupe.config.WeightProcessingStep;
import dev.loupe.lens.LensBasis;
import dev.loupe.model.HookedTransformer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The model options every command shares, and the loading rule. */
class ModelOptionsTest {
    @TempDir
    Path dir;

    @Command(name = "probe")
    static final class Probe {
        @Option(names = "--first")
        boolean first;

        @Mixin
        ModelOptions modelOptions;

        @Option(names = "--last")
        boolean last;
    }

    static final class Fixture extends ModelOptions.DefaultModel {
        Fixture() {
            super("testdata/models/gpt2-tok", "the probe's model", "Default: the probe's.");
        }
    }

    @Command(name = "defaulted", sortOptions = false, modelTransformer = Fixture.class)
    static final class Defaulted {
        @Option(names = "--first")
        boolean first;

        @Mixin
        ModelOptions modelOptions;

        @Option(names = "--last")
        boolean last;
    }

    private static ModelOptions parse(Object command, String... args) {
        CommandLine cli = new CommandLine(command);
        cli.parseArgs(args);
        return command instanceof Probe probe ? probe.modelOptions : ((Defaulted) command).modelOptions;
    }

    @Test
    void weightsAreProcessedUnlessNoProcessingOrTheCommandNeedsHuggingFacesBasis() {
        String model = CliTestSupport.GPT2.toString();
        try (HookedTransformer processed = parse(new Probe(), "--model", model).load()) {
            assertThat(processed.config().weightsProcessed()).isTrue();
        }
        try (HookedTransformer raw = parse(new Probe(), "--model", model, "--no-processing").load()) {
            assertThat(raw.config().weightsProcessed()).isFalse();
        }
        try (HookedTransformer lensBasis = parse(new Probe(), "--model", model).load(LensBasis.HUGGING_FACE)) {
            assertThat(lensBasis.config().weightsProcessed()).isFalse();
        }
        LensBasis folded = new LensBasis(List.of(WeightProcessingStep.FOLD_LN));
        try (HookedTransformer foldedOnly = parse(new Probe(), "--model", model).load(folded)) {
            assertThat(LensBasis.of(foldedOnly.config())).isEqualTo(folded);
        }
        assertThatThrownBy(() -> parse(new Probe(), "--model", model, "--no-processing").load(folded))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("--no-processing contradicts what this command reads (a tuned lens or an SAE)");
    }

    @Test
    void dtypeKeepsTheWeightsInFloat16() {
        ModelOptions options = parse(new Probe(), "--model", CliTestSupport.GPT2.toString(), "--dtype", "FLOAT16");
        assertThat(options.dtype()).isEqualTo(WeightDtype.FLOAT16);
        try (HookedTransformer model = options.load()) {
            assertThat(model.stateDict().get("blocks.0.attn.W_Q").getDataType())
                    .isEqualTo(ai.djl.ndarray.types.DataType.FLOAT16);
        }
        assertThat(parse(new Probe(), "--model", "x").dtype()).isEqualTo(WeightDtype.FLOAT32);
        assertThatThrownBy(() -> parse(new Probe(), "--model", "x", "--dtype", "bf16"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("expected float32 or float16");
    }

    @Test
    void aDefaultModelMakesModelOptionalAndKeepsTheOptionsOrder() {
        assertThatThrownBy(() -> parse(new Probe())).isInstanceOf(CommandLine.MissingParameterException.class)
                .hasMessageContaining("--model=MODEL");

        String previous = System.getProperty("loupe.home");
        System.setProperty("loupe.home", "..");
        try {
            assertThat(parse(new Defaulted()).folder()).isEqualTo(Path.of("../testdata/models/gpt2-tok"));
            assertThat(parse(new Defaulted(), "--model", dir.toString()).folder()).isEqualTo(dir);
            System.setProperty("loupe.home", dir.toString());
            assertThatThrownBy(() -> parse(new Defaulted()).folder()).isInstanceOf(LoupeException.class)
                    .hasMessage("the probe's model " + dir.resolve("testdata/models/gpt2-tok") + " is missing; run loupe"
                            + " through the loupe script in the repository, or pass --model DIR");
        } finally {
            if (previous == null) {
                System.clearProperty("loupe.home");
            } else {
                System.setProperty("loupe.home", previous);
            }
        }

        StringWriter help = new StringWriter();
        new CommandLine(new Defaulted()).usage(new PrintWriter(help));
        assertThat(help.toString()).contains("[--model=MODEL]", "Default: the probe's.");
        assertThat(help.toString().lines().map(String::strip).filter(line -> line.startsWith("--"))
                .map(line -> line.replaceAll("[=\\s].*", "")).toList())
                .containsExactly("--first", "--model", "--no-processing", "--dtype", "--last");
        StringWriter required = new StringWriter();
        new CommandLine(new Probe()).usage(new PrintWriter(required));
        assertThat(required.toString()).contains(" --model=MODEL").doesNotContain("[--model=MODEL]", "Default: the");
    }

    @Test
    void everyCommandThatLoadsAModelTakesTheSameOptions() {
        for (String[] command : List.of(new String[] {"demo"}, new String[] {"hooks"}, new String[] {"cache"},
                new String[] {"generate"}, new String[] {"shell"}, new String[] {"lens", "apply"},
                new String[] {"lens", "trajectory"}, new String[] {"lens", "train"}, new String[] {"lens", "eval"},
                new String[] {"view", "attention"}, new String[] {"view", "trajectory"},
                new String[] {"view", "patching"})) {
            String[] args = java.util.Arrays.copyOf(command, command.length + 1);
            args[command.length] = "--help";
            String help = CliTestSupport.run(args).out();
            assertThat(help).as(String.join(" ", command)).contains("--model=MODEL", "--no-processing",
                    "--dtype=float32|float16");
            if (command[0].equals("lens")) {
                assertThat(help).as(String.join(" ", command)).contains("loaded unprocessed");
            }
        }
    }
}
