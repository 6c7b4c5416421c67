package dev.loupe.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code scripts/jvm-env.sh} is the one source of the JVM flags of {@code ./loupe} and {@code ./bench};
 * the places that cannot read it (JMH annotations, the tests' argLine in the parent pom, the CLI's
 * defaults for runs without the script) keep copies, and this test fails when a copy disagrees.
 */
class JvmEnvTest {
    /** Surefire runs in the module's folder. */
    private static final Path ROOT = Path.of("..");

    /** The unconditional flags: one a line between {@code loupe_jvm_flags=(} and {@code )}. */
    static List<String> sharedFlags() throws IOException {
        List<String> lines = Files.readAllLines(ROOT.resolve("scripts/jvm-env.sh"));
        int start = lines.indexOf("loupe_jvm_flags=(");
        assertThat(start).as("loupe_jvm_flags=( in scripts/jvm-env.sh").isNotNegative();
        int end = lines.subList(start, lines.size()).indexOf(")") + start;
        assertThat(end).as("the ) closing loupe_jvm_flags").isGreaterThan(start);
        return lines.subList(start + 1, end).stream().map(String::strip).toList();
    }

    /** The flags added on JDK 22+: {@code loupe_jvm_flags+=(FLAG)}. */
    static List<String> jdk22Flags() throws IOException {
        Pattern added = Pattern.compile("^\\s*loupe_jvm_flags\\+=\\((.*)\\)\\s*$");
        try (Stream<String> lines = Files.lines(ROOT.resolve("scripts/jvm-env.sh"))) {
            return lines.map(added::matcher).filter(Matcher::matches).map(m -> m.group(1).strip()).toList();
        }
    }

    /** {@code -Dkey=value} flags as a map. */
    static Map<String, String> properties(List<String> flags) {
        Map<String, String> properties = new LinkedHashMap<>();
        for (String flag : flags) {
            assertThat(flag).startsWith("-D").contains("=");
            properties.put(flag.substring(2, flag.indexOf('=')), flag.substring(flag.indexOf('=') + 1));
        }
        return properties;
    }

    @Test
    void theSharedFileDefinesTheFlags() throws IOException {
        assertThat(sharedFlags()).isNotEmpty().allMatch(f -> f.startsWith("-D"));
        assertThat(jdk22Flags()).containsExactly("--enable-native-access=ALL-UNNAMED");
    }

    @Test
    void benchFlagsCopyTheSharedFlags() throws IOException {
        assertThat(List.of(BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN,
                BenchFlags.QUIET_CUDA, BenchFlags.QUIET_LIBUTILS)).containsExactlyElementsOf(sharedFlags());
    }

    @Test
    void theTestsArgLineCopiesTheSharedFlags() throws IOException {
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        Matcher argLine = Pattern.compile("<loupe.test.argLine>([^<]*)</loupe.test.argLine>").matcher(pom);
        assertThat(argLine.find()).as("loupe.test.argLine in pom.xml").isTrue();
        List<String> testFlags = Arrays.stream(argLine.group(1).strip().split("\\s+"))
                .filter(f -> f.startsWith("-D")).toList();
        assertThat(testFlags).containsExactlyElementsOf(sharedFlags());
        for (String flag : jdk22Flags()) {
            assertThat(pom).contains("<loupe.native.access>" + flag + "</loupe.native.access>");
        }
    }

    @Test
    void theCliDefaultsCopyTheSharedFlags() throws IOException {
        Path main;
        try (Stream<Path> files = Files.walk(ROOT.resolve("loupe-cli/src/main/java"))) {
            main = files.filter(f -> f.getFileName().toString().equals("Main.java")).findFirst().orElseThrow();
        }
        Map<String, String> defaults = new LinkedHashMap<>();
        Matcher pair = Pattern.compile("\\{\"([^\"]+)\", \"([^\"]*)\"}").matcher(Files.readString(main));
        while (pair.find()) {
            defaults.put(pair.group(1), pair.group(2));
        }
        assertThat(defaults).as("the system properties " + main + " sets").containsAllEntriesOf(properties(sharedFlags()));
    }
}
