package dev.loupe.spark;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Spark standalone cluster on 127.0.0.1: Spark's own {@code Master} and {@code Worker} classes, each in a JVM
 * of its own, on ports the OS picks. There is no Spark distribution here, so the "Spark home" is assembled from the
 * Maven artifacts: its {@code jars/} links Spark's jars (loupe-spark's {@code provided} dependencies, listed by the
 * build in {@code target/spark-classpath.txt}), the class path of the master, the workers and the executors they
 * launch. Loupe reaches the executors either through {@code spark.executor.extraClassPath} ({@link #loupeClassPath},
 * for a driver in the test's JVM) or as the job jar that {@link #submit} hands to {@code SparkSubmit}.
 */
final class StandaloneCluster implements AutoCloseable {
    private static final Pattern MASTER_URL = Pattern.compile("Starting Spark master at (spark://\\S+)");

    private final Path home;
    private final List<String> jvmFlags;
    private final Process master;
    private final String url;
    private final List<Process> workers = new ArrayList<>();

    /** Starts a master and {@code workers} workers of one core each; returns once every worker has registered. */
    StandaloneCluster(Path dir, int workerCount) throws IOException {
        home = dir.resolve("spark-home");
        Files.createDirectories(home.resolve("jars"));
        for (String entry : sparkClassPath()) {
            Path path = Path.of(entry);
            if (entry.endsWith(".jar") && Files.isRegularFile(path)) {
                Path link = home.resolve("jars").resolve(path.getFileName());
                if (!Files.exists(link)) {
                    Files.createSymbolicLink(link, path.toAbsolutePath());
                }
            }
        }
        Path logConfig = dir.resolve("log4j2.properties");
        Files.writeString(logConfig, String.join("\n", "rootLogger.level = info",
                "rootLogger.appenderRef.out.ref = out", "appender.out.type = Console", "appender.out.name = out",
                "appender.out.target = SYSTEM_OUT", "appender.out.layout.type = PatternLayout",
                "appender.out.layout.pattern = %p %c{1}: %m%n", ""));
        jvmFlags = new ArrayList<>(Arrays.asList(System.getProperty("loupe.test.jvmFlags", "").trim().split("\\s+")));
        jvmFlags.removeIf(String::isEmpty);
        jvmFlags.add("-Dlog4j2.configurationFile=" + logConfig.toUri());
        master = start("org.apache.spark.deploy.master.Master", dir.resolve("master.log"),
                "--host", "127.0.0.1", "--port", "0", "--webui-port", "0");
        url = await(dir.resolve("master.log"), MASTER_URL);
        for (int i = 0; i < workerCount; i++) {
            Path log = dir.resolve("worker-" + i + ".log");
            Path work = Files.createDirectories(dir.resolve("work-" + i));
            workers.add(start("org.apache.spark.deploy.worker.Worker", log, "--host", "127.0.0.1", "--port", "0",
                    "--webui-port", "0", "--cores", "1", "--memory", "1g", "--work-dir", work.toString(), url));
        }
        for (int i = 0; i < workerCount; i++) {
            await(dir.resolve("worker-" + i + ".log"), Pattern.compile("(Successfully registered with master)"));
        }
    }

    /** The master's URL, {@code spark://127.0.0.1:PORT}. */
    String url() {
        return url;
    }

    /**
     * What this JVM's class path has beyond Spark's jars (Loupe's classes, DJL, ...), for
     * {@code spark.executor.extraClassPath}.
     */
    static String loupeClassPath() {
        List<String> spark = sparkClassPath();
        return String.join(java.io.File.pathSeparator, classPath().stream().filter(e -> !spark.contains(e)).toList());
    }

    /** The executors' JVM flags: the tests' own. */
    String executorJavaOptions() {
        return String.join(" ", jvmFlags.subList(0, jvmFlags.size() - 1));
    }

    /**
     * Submits the application {@code jobJar} (main class {@code mainClass}, arguments {@code args}) to the cluster as
     * {@code spark-submit} does: Spark's own {@code SparkSubmit} in a JVM of its own whose class path is Spark's jars
     * only, client mode; the executors get the jar from the driver. Returns the driver's exit status.
     */
    int submit(Path log, Path jobJar, String mainClass, String... args) throws IOException, InterruptedException {
        List<String> submit = new ArrayList<>(List.of("--master", url, "--deploy-mode", "client", "--class", mainClass,
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                "--conf", "spark.ui.enabled=false", "--conf", "spark.executor.memory=512m",
                "--conf", "spark.executor.extraJavaOptions=" + executorJavaOptions(), jobJar.toString()));
        submit.addAll(List.of(args));
        Process driver = start("org.apache.spark.deploy.SparkSubmit", log, submit.toArray(String[]::new));
        if (!driver.waitFor(5, TimeUnit.MINUTES)) {
            driver.destroyForcibly();
            throw new IllegalStateException("spark-submit did not finish within 5 minutes; see " + log);
        }
        return driver.exitValue();
    }

    /** Kills worker {@code index} and the executors it launched, at once (as a machine that dies). */
    void kill(int index) {
        Process worker = workers.get(index);
        worker.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        worker.destroyForcibly();
    }

    @Override
    public void close() {
        for (Process worker : workers) {
            worker.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            worker.destroyForcibly();
        }
        master.destroyForcibly();
        try {
            master.waitFor(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Process start(String mainClass, Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags);
        command.add("-Xmx512m");
        command.add("-cp");
        command.add(String.join(java.io.File.pathSeparator, sparkClassPath()));
        command.add(mainClass);
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("SPARK_HOME", home.toString());
        builder.environment().put("SPARK_SCALA_VERSION", "2.13");
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        return builder.start();
    }

    /** Waits up to two minutes for a line of {@code log} that matches {@code pattern}; returns its first group. */
    private static String await(Path log, Pattern pattern) {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                try (BufferedReader lines = new BufferedReader(new InputStreamReader(Files.newInputStream(log),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = lines.readLine()) != null) {
                        Matcher m = pattern.matcher(line);
                        if (m.find()) {
                            return m.group(1);
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("No line matching " + pattern + " in " + log + " within two minutes");
    }

    private static List<String> classPath() {
        return List.of(System.getProperty("java.class.path").split(java.io.File.pathSeparator));
    }

    /** Spark's jars as a distribution holds them: the list loupe-spark's build writes (its provided dependencies). */
    static List<String> sparkClassPath() {
        Path list = Path.of(System.getProperty("loupe.test.sparkClassPath", "target/spark-classpath.txt"));
        try {
            return List.of(Files.readString(list, StandardCharsets.UTF_8).strip().split(java.io.File.pathSeparator));
        } catch (IOException e) {
            throw new UncheckedIOException("Spark's class path " + list + " is missing: build with Maven (mvn verify"
                    + " -pl loupe-spark -am), which writes it", e);
        }
    }
}
