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
import org.junit.jupiter.api.io.TempDir;

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

    /** Runs {@code script} in bash after sourcing {@code scripts/jvm-env.sh}; its standard output. */
    private static String afterSourcing(String script, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", "source scripts/jvm-env.sh && " + script)
                .directory(ROOT.toFile()).redirectErrorStream(true);
        builder.environment().remove("MKL_CBWR");
        builder.environment().putAll(env);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes()).strip();
        assertThat(process.waitFor()).as(out).isZero();
        return out;
    }

    private static String mklBranchFor(Path dir, String flags) throws IOException, InterruptedException {
        Path cpuinfo = Files.writeString(dir.resolve("cpuinfo-" + flags.hashCode()),
                "processor\t: 0\nvendor_id\t: Example\nflags\t\t: " + flags + "\nbugs\t\t:\n\n");
        return afterSourcing("loupe_mkl_branch " + cpuinfo.toAbsolutePath(), Map.of());
    }

    @Test
    void mklRunsTheWidestDeterministicBranchTheCpuReportsNeverSse2WhenMoreExists(@TempDir Path dir)
            throws IOException, InterruptedException {
        String sse = "fpu sse sse2 ssse3 sse4_1 sse4_2";
        String avx2 = sse + " avx fma avx2";
        assertThat(mklBranchFor(dir, avx2 + " avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16")).isEqualTo("AVX512");
        assertThat(mklBranchFor(dir, avx2 + " avx512f avx512cd")).as("AVX-512 without BW/DQ/VL").isEqualTo("AVX2");
        assertThat(mklBranchFor(dir, avx2)).isEqualTo("AVX2");
        assertThat(mklBranchFor(dir, sse + " avx")).isEqualTo("AVX");
        assertThat(mklBranchFor(dir, sse)).isEqualTo("SSE4_2");
        assertThat(mklBranchFor(dir, "fp asimd evtstrm")).as("an ARM CPU").isEqualTo("AUTO");
        assertThat(afterSourcing("loupe_mkl_branch " + dir.resolve("missing"), Map.of())).isEqualTo("AUTO");
    }

    @Test
    void theEnvironmentPinsMklToThisCpusBranchUnlessTheUserSetIt() throws IOException, InterruptedException {
        String branch = afterSourcing("loupe_mkl_branch", Map.of());
        assertThat(branch).isNotIn("COMPATIBLE", "SSE2", "");
        assertThat(afterSourcing("echo \"$MKL_CBWR\"", Map.of())).isEqualTo(branch);
        assertThat(afterSourcing("echo \"$MKL_CBWR\"", Map.of("MKL_CBWR", "AVX2,STRICT"))).isEqualTo("AVX2,STRICT");
    }

    /**
     * The command line once ran at a third of the speed the benchmarks showed: {@code ./loupe} exported
     * {@code MKL_CBWR=COMPATIBLE} and {@code ./bench} did not. Both scripts now take their whole
     * environment from {@code scripts/jvm-env.sh} and export nothing of their own.
     */
    @Test
    void theCliAndTheBenchmarksRunUnderOneEnvironment() throws IOException {
        for (String script : List.of("loupe", "bench")) {
            List<String> code = Files.readAllLines(ROOT.resolve(script)).stream().map(String::strip)
                    .filter(line -> !line.startsWith("#")).toList();
            assertThat(code).as(script).anyMatch(line -> line.startsWith("source ") && line.contains("scripts/jvm-env.sh"));
            assertThat(code).as(script).noneMatch(line -> line.startsWith("export ") || line.contains("MKL_")
                    || line.contains("MALLOC_") || line.contains("OMP_"));
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
