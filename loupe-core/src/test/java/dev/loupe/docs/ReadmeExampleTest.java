package dev.loupe.docs;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.analysis.experts.ExpertChoice;
import dev.loupe.analysis.experts.ExpertRouting;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The Java examples of README.md, line for line, so that they keep compiling and working. */
class ReadmeExampleTest {
    /** Surefire runs in the module's folder. */
    private static final Path ROOT = Path.of("..");
    private static final Path EXAMPLE_PROGRAM = ROOT.resolve("examples/src/main/java/dev/loupe/examples/ReadmeExample.java");

    /** The lines of README.md's first Java block, stripped, blank ones left out. */
    private static List<String> readmeExampleLines() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        Matcher block = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertThat(block.find()).as("a ```java block in README.md").isTrue();
        return block.group(1).lines().map(String::strip).filter(line -> !line.isEmpty()).toList();
    }

    private static List<String> strippedLines(Path file) throws IOException {
        return Files.readAllLines(file).stream().map(String::strip).toList();
    }

    /** The lines of {@code wanted} that do not occur in {@code lines} in that order (empty when all do). */
    private static List<String> missingInOrder(List<String> wanted, List<String> lines) {
        List<String> missing = new ArrayList<>();
        int at = 0;
        for (String line : wanted) {
            int found = lines.subList(at, lines.size()).indexOf(line);
            if (found < 0) {
                missing.add(line);
            } else {
                at += found + 1;
            }
        }
        return missing;
    }

    /**
     * The README's example is compilable as printed: its imports are exactly those of examples/'s ReadmeExample
     * (which ./check compiles and runs against the installed artifacts), every class it names is imported, and
     * each of its lines is in that program and, with the fixture's path for the README's, in this test.
     */
    @Test
    void theReadmeExampleIsThisTestAndTheExampleProgramImportsIncluded() throws IOException {
        List<String> readme = readmeExampleLines();
        List<String> imports = readme.stream().filter(line -> line.startsWith("import ")).toList();
        List<String> code = readme.stream().filter(line -> !line.startsWith("import ")).toList();
        List<String> program = strippedLines(EXAMPLE_PROGRAM);
        assertThat(imports).as("README's imports = ReadmeExample's")
                .containsExactlyElementsOf(program.stream().filter(line -> line.startsWith("import ")).toList());
        String codeOnly = code.stream().map(line -> line.replaceAll("\"[^\"]*\"", "\"\"").replaceAll("//.*", ""))
                .collect(Collectors.joining("\n"));
        Matcher type = Pattern.compile("\\b([A-Z][A-Za-z]+)\\b(?=[ .(])").matcher(codeOnly);
        while (type.find()) {
            String name = type.group(1);
            assertThat(imports).as("the README example uses " + name + " without importing it")
                    .anyMatch(line -> line.endsWith("." + name + ";"));
        }
        assertThat(missingInOrder(code, program)).as("README lines missing from " + EXAMPLE_PROGRAM).isEmpty();
        List<String> test = strippedLines(Path.of("src/test/java/dev/loupe/docs/ReadmeExampleTest.java"));
        List<String> withFixture = code.stream()
                .map(line -> line.replace("Path.of(\"testdata/models/gpt2-tok\")", "dir")).toList();
        assertThat(missingInOrder(withFixture, test)).as("README lines missing from this test").isEmpty();
    }


    @Test
    void theReadmeExampleRuns() {
        var dir = Fixtures.model("gpt2-tok");
        // --- README example starts
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir);
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = model.toTokens("The quick brown fox", manager);  // [1, 5]: <|endoftext|>The quick brown fox
            NDArray logits = model.forward(tokens);  // [1, 5, 50257]
            try (ActivationCache cache = model.runWithCache(tokens)) {
                NDArray pattern = cache.get("pattern", 0);  // blocks.0.attn.hook_pattern [1, 4, 5, 5]
                // --- README example pauses
                assertThat(pattern.getShape().toString()).isEqualTo("(1, 4, 5, 5)");
                // --- README example resumes
            }
            NDArray ablated = model.runWithHooks(tokens,  // zero-ablate head 2 of layer 1
                    HookSpec.forward("blocks.1.attn.hook_z", (z, hook) -> { z.set(new NDIndex(":, :, 2"), 0f); return z; }));
            // --- README example ends
            assertThat(tokens.toLongArray()).containsExactly(50256, 464, 2068, 7586, 21831);
            assertThat(logits.getShape().toString()).isEqualTo("(1, 5, 50257)");
            assertThat(ablated.sub(logits).abs().max().getFloat()).isPositive();
        }
    }

    @Test
    void theExpertsExampleRuns() {
        // The README reads the fixture through a path relative to the repository root.
        var mixtral = Fixtures.model("mixtral");
        // --- README experts example starts
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(mixtral);
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(new long[][] {{1, 415, 293, 96, 285}});  // [1, 5]
            List<ExpertChoice> routing = ExpertRouting.choices(model, tokens);  // one per layer
            long[] experts = routing.get(0).expertsOf(0, 3);  // layer 0, token 3: its 2 experts, most probable first
            float[] weights = routing.get(0).weightsOf(0, 3);  // the weights of their outputs (sum 1)
            NDArray forced = model.runWithHooks(tokens, ExpertRouting.force(0, 1, 0, 3));  // layer 0: token 3 to expert 1 only
            NDArray ablated = model.runWithHooks(tokens, ExpertRouting.ablate(1, 2));  // layer 1: no token may use expert 2
            // --- README experts example ends
            assertThat(routing).hasSize(2);
            assertThat(experts).hasSize(2).doesNotHaveDuplicates();
            assertThat(weights[0] + weights[1]).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-6f));
            NDArray logits = model.forward(tokens);
            assertThat(forced.sub(logits).abs().max().getFloat()).isPositive();
            assertThat(ablated.sub(logits).abs().max().getFloat()).isPositive();
        }
    }
}
