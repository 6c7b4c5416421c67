package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.hub.LoopbackHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * Every {@code loupe ...} line under an "Example" heading of a command's {@code --help} runs as written from
 * the repository's root: its paths are read from the repository (the test runs in loupe-cli, one folder
 * down), what it writes goes to a temporary folder, and the Hub models it names come from a Hub on loopback
 * ({@code HF_ENDPOINT}), as a user's run would.
 */
class HelpExamplesTest {
    /**
     * Examples this test does not run, and why; each must still exist. They are left out of {@link #runnable()}, not
     * skipped: a skipped test checks nothing.
     */
    private static final Map<String, String> NOT_RUN = Map.of(
            "loupe shell", "interactive: it waits for JShell input",
            "loupe serve", "serves until Ctrl-C, on a fixed port; ServeCommandTest starts the command on a free port,"
                    + " drives its API and stops it",
            "loupe sae run --model gpt2 --sae gpt2-small-res-jb/", "a released SAE of the real GPT-2;"
                    + " SaePretrainedCommandTest runs this command on the fixture GPT-2 against a loopback Hub");
    private static final Set<String> OUTPUT_OPTIONS = Set.of("--out", "--output", "-o", "--out-dir");
    private static final Pattern SUBSTITUTION = Pattern.compile("\\$\\((loupe [^)]*)\\)");

    @TempDir
    static Path temp;

    private static LoopbackHub hub;
    private static final Map<String, String> SAVED = new HashMap<>();

    @BeforeAll
    static void pointTheCliAtALoopbackHubAndTheRepository() {
        hub = LoopbackHub.start();
        hub.addModel("gpt2", CliTestSupport.GPT2_TOK);
        hub.addModel("EleutherAI/pythia-70m", CliTestSupport.GPT2_TOK).branch("step3000");
        setProperty("HF_ENDPOINT", hub.endpoint());
        setProperty("HF_HOME", temp.resolve("huggingface").toString());
        setProperty("HF_HUB_CACHE", temp.resolve("huggingface/hub").toString());
        setProperty("HF_HUB_OFFLINE", "0");
        setProperty("HF_TOKEN", "");
        setProperty("loupe.home", "..");
    }

    @AfterAll
    static void restore() {
        SAVED.forEach((name, value) -> {
            if (value == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, value);
            }
        });
        hub.close();
    }

    private static void setProperty(String name, String value) {
        SAVED.putIfAbsent(name, System.getProperty(name));
        System.setProperty(name, value);
    }

    /** Each example command line of every command's help, continuation lines joined. */
    static List<String> examples() {
        List<String> found = new ArrayList<>();
        collect(new CommandLine(new Main()), found);
        return found;
    }

    private static void collect(CommandLine command, List<String> found) {
        boolean inExample = false;
        StringBuilder pending = null;
        for (String line : command.getCommandSpec().usageMessage().footer()) {
            if (pending != null) {
                pending.append(' ').append(line.strip());
            } else if (line.startsWith("Example")) {
                inExample = true;
                continue;
            } else if (!line.isBlank() && !line.startsWith("  ")) {
                inExample = false;
            } else if (inExample && line.startsWith("  loupe ")) {
                pending = new StringBuilder(line.strip());
            }
            if (pending != null && pending.toString().endsWith("\\")) {
                pending.setLength(pending.length() - 1);
                pending.setLength(pending.toString().stripTrailing().length());
            } else if (pending != null) {
                found.add(pending.toString());
                pending = null;
            }
        }
        command.getSubcommands().values().stream().distinct().forEach(sub -> collect(sub, found));
    }

    @Test
    void theHelpHasExamplesOfEveryKindAndTheSkippedCommandsExist() {
        List<String> all = examples();
        assertThat(all).hasSizeGreaterThanOrEqualTo(12).allMatch(line -> !line.contains("models/gpt2-tok ")
                || line.contains("testdata/models/gpt2-tok"), "names only folders a fresh clone has");
        for (String skipped : NOT_RUN.keySet()) {
            assertThat(all).as(skipped + " is skipped, so it must have examples").anyMatch(line -> line.startsWith(skipped));
        }
    }

    /** Copy-paste works: at 80 columns (a terminal's default, and picocli's when it cannot tell) no example wraps. */
    @Test
    void noExampleLineIsWrappedAtEightyColumns() {
        List<String> checked = new ArrayList<>();
        checkUnwrapped(new CommandLine(new Main()), checked);
        assertThat(checked).hasSizeGreaterThanOrEqualTo(20);
    }

    private static void checkUnwrapped(CommandLine command, List<String> checked) {
        command.setUsageHelpAutoWidth(false);
        command.setUsageHelpWidth(80);
        List<String> printed = command.getUsageMessage().lines().map(String::stripTrailing).toList();
        for (String line : command.getCommandSpec().usageMessage().footer()) {
            if (line.startsWith("  ")) {
                assertThat(printed).as("the help of " + command.getCommandName() + " prints on one line").contains(line);
                checked.add(line);
            }
        }
        command.getSubcommands().values().stream().distinct().forEach(sub -> checkUnwrapped(sub, checked));
    }

    /** The examples this test runs: all but {@link #NOT_RUN}'s. */
    static List<String> runnable() {
        return examples().stream().filter(example -> NOT_RUN.keySet().stream().noneMatch(example::startsWith)).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runnable")
    void runsAsWritten(String example) {
        Path outputs = temp.resolve("run-" + Integer.toHexString(example.hashCode()));
        CliTestSupport.Result result = run(example, outputs);
        assertThat(result.exitCode()).as("%s%nstdout: %s%nstderr: %s", example, result.out(), result.err()).isZero();
        assertThat(result.out() + result.err()).as(example).isNotBlank();
    }

    private static CliTestSupport.Result run(String example, Path outputs) {
        List<String> words = words(example);
        assertThat(words.get(0)).isEqualTo("loupe");
        List<String> args = new ArrayList<>();
        for (int i = 1; i < words.size(); i++) {
            String word = words.get(i);
            if (OUTPUT_OPTIONS.contains(words.get(i - 1))) {
                word = outputs.resolve(word).toString();
            } else if (!word.startsWith("-") && !word.isEmpty() && Files.exists(Path.of("..", word))) {
                word = Path.of("..", word).toString();
            }
            args.add(word);
        }
        return CliTestSupport.run(args.toArray(String[]::new));
    }

    /** The words a POSIX shell makes of {@code line}: quotes, and {@code "$(loupe ...)"} run and substituted. */
    private static List<String> words(String line) {
        Matcher substitution = SUBSTITUTION.matcher(line);
        StringBuilder expanded = new StringBuilder();
        while (substitution.find()) {
            CliTestSupport.Result inner = run(substitution.group(1), temp);
            assertThat(inner.exitCode()).as(substitution.group(1) + ": " + inner.err()).isZero();
            substitution.appendReplacement(expanded, Matcher.quoteReplacement(inner.out().strip()));
        }
        substitution.appendTail(expanded);
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        char quote = 0;
        for (char c : expanded.toString().toCharArray()) {
            if (quote != 0 && c == quote) {
                quote = 0;
            } else if (quote != 0) {
                word.append(c);
            } else if (c == '\'' || c == '"') {
                quote = c;
                word = word == null ? new StringBuilder() : word;
            } else if (Character.isWhitespace(c)) {
                if (word != null) {
                    words.add(word.toString());
                    word = null;
                }
            } else {
                word = word == null ? new StringBuilder(String.valueOf(c)) : word.append(c);
            }
        }
        assertThat(quote == 0).as("unclosed quote in " + line).isTrue();
        if (word != null) {
            words.add(word.toString());
        }
        return words;
    }
}
