package dev.loupe.cli.command;

import dev.loupe.LoupeException;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.config.WeightDtype;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code loupe shell}: JShell, in this JVM, with Loupe on the class path and a start-up script that
 * imports Loupe's packages and loads a model, so that exploring feels like a notebook.
 */
@Command(
        name = "shell",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        modelTransformer = ModelOptions.TokenizerFixture.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "JShell with Loupe loaded: explore a model interactively, like a notebook.",
        description = {
            "",
            "Starts JShell with Loupe and DJL on the class path. Its start-up script imports Loupe's packages"
                    + " (dev.loupe.model, cache, hook, tokenize, run, generate, analysis.heads, analysis.patching, linalg,"
                    + " viz) and DJL's NDArray types, and"
                    + " defines:",
            "  model                 the --model folder, loaded as HookedTransformer.fromPretrained does, with"
                    + " TransformerLens's weight processing (--no-processing: fromPretrainedNoProcessing)",
            "  manager               an NDManager for your arrays",
            "  tokens(text)          model.toTokens(text, manager): int64 [1, pos]",
            "  runWithCache(text)    model.runWithCache(tokens(text)): every activation",
            "",
            "Snippets run in this JVM (JShell's local execution). FILE... are JShell scripts run after the"
                    + " start-up; input can be piped in. /exit leaves.",
            ""
        },
        footer = {
            "",
            "Example:",
            "  loupe shell",
            "  jshell> var cache = runWithCache(\"The quick brown fox\")",
            "  jshell> cache.get(\"blocks.0.attn.hook_pattern\").getShape()",
            "  $3 ==> (1, 4, 5, 5)"
        })
public final class ShellCommand extends LoupeCommand {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--no-model", description = "Load no model (start faster); `model` is then not defined.")
    boolean noModel;

    @Parameters(paramLabel = "FILE", arity = "0..*", description = "JShell scripts to run after the start-up.")
    List<Path> scripts = new ArrayList<>();

    /** JShell handles Ctrl-C itself (it stops the snippet being run), so the JVM's handlers stay. */
    @Override
    protected boolean stopsAtSafePoints() {
        return false;
    }

    @Override
    protected int execute() throws IOException {
        if (noModel && modelOptions.given() != null) {
            throw new LoupeException("--model and --no-model are contradictory; give one of them");
        }
        Path dir = noModel ? null : modelOptions.folder().toAbsolutePath().normalize();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new LoupeException("--model " + modelOptions.given() + " is not a folder; give a Hugging Face model"
                    + " folder");
        }
        for (Path script : scripts) {
            if (!Files.isRegularFile(script)) {
                throw new LoupeException("the JShell script " + script + " does not exist");
            }
        }
        Path startup = Files.createTempFile("loupe-shell-", ".jsh");
        try {
            Files.writeString(startup, startupScript(dir, modelOptions.processed(), modelOptions.dtype()),
                    StandardCharsets.UTF_8);
            List<String> args = new ArrayList<>(List.of("--class-path", classPath(), "--execution", "local",
                    "--startup", "DEFAULT", "--startup", startup.toString()));
            scripts.forEach(s -> args.add(s.toString()));
            out().flush();
            try {
                return jdk.jshell.tool.JavaShellToolBuilder.builder().start(args.toArray(String[]::new));
            } catch (NoClassDefFoundError e) {
                throw new LoupeException("loupe shell needs JShell (the jdk.jshell module), which this Java ("
                        + System.getProperty("java.home") + ") lacks; run loupe with a JDK rather than a JRE");
            } catch (Exception e) {
                throw new LoupeException("JShell failed to start: " + e.getMessage(), e);
            }
        } finally {
            Files.deleteIfExists(startup);
        }
    }

    /**
     * The start-up script: imports, the model, and a few helpers (the tutorials' test runs their blocks after
     * it). The model is loaded by the CLI's loading rule ({@link ModelOptions}), written out as a call of the
     * public API.
     *
     * @param dir the model folder, or null for no model
     * @param processed whether to process the weights as TransformerLens's from_pretrained does
     * @param dtype how to keep the weights in memory
     */
    public static String startupScript(Path dir, boolean processed, WeightDtype dtype) {
        StringBuilder script = new StringBuilder();
        for (String pkg : List.of("ai.djl.ndarray", "ai.djl.ndarray.index", "ai.djl.ndarray.types", "dev.loupe",
                "dev.loupe.model", "dev.loupe.cache", "dev.loupe.hook", "dev.loupe.tokenize",
                "dev.loupe.run", "dev.loupe.generate", "dev.loupe.analysis.heads", "dev.loupe.analysis.patching",
                "dev.loupe.linalg", "dev.loupe.viz", "java.nio.file")) {
            script.append("import ").append(pkg).append(".*;\n");
        }
        script.append("var manager = NDManager.newBaseManager();\n");
        if (dir == null) {
            script.append("System.out.println(\"Loupe shell (JShell) with no model. `manager` is an NDManager."
                    + " /exit leaves.\");\n");
            return script.toString();
        }
        String weights = "dev.loupe.config.WeightDtype." + dtype.name();
        script.append("var model = HookedTransformer.")
                .append(processed ? "fromPretrained(" : "fromPretrainedNoProcessing(")
                .append("Path.of(").append(javaString(dir.toString())).append("), ")
                .append(processed ? "dev.loupe.process.ProcessOptions.defaults(), " : "").append(weights).append(");\n")
                .append("NDArray tokens(String text) { return model.toTokens(text, manager); }\n")
                .append("ActivationCache runWithCache(String text) { return model.runWithCache(tokens(text)); }\n")
                .append("System.out.println(\"Loupe shell (JShell). `model` is \" + model.config().modelName()")
                .append(" + \" from ")
                .append(javaString(dir.toString()).replaceAll("^\"|\"$", "")).append(";\");\n")
                .append("System.out.println(\"`manager` is an NDManager; tokens(text) and runWithCache(text) run it."
                        + " Try:\");\n")
                .append("System.out.println(\"  var cache = runWithCache(\\\"The quick brown fox\\\")\");\n")
                .append("System.out.println(\"  cache.get(\\\"blocks.0.attn.hook_pattern\\\").getShape()\");\n")
                .append("System.out.println(\"/exit leaves.\");\n");
        return script.toString();
    }

    /** {@code text} as a Java string literal. */
    static String javaString(String text) {
        StringBuilder literal = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '\\' -> literal.append("\\\\");
                case '"' -> literal.append("\\\"");
                case '\n' -> literal.append("\\n");
                case '\r' -> literal.append("\\r");
                default -> literal.append(c);
            }
        }
        return literal.append('"').toString();
    }

    /**
     * This JVM's class path for JShell's compiler, with the Class-Path entries of jar manifests spelled
     * out (a test runner may start the JVM with a single manifest-only jar).
     */
    public static String classPath() {
        Set<String> entries = new LinkedHashSet<>();
        for (String entry : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                addWithManifest(Path.of(entry).toAbsolutePath(), entries);
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static void addWithManifest(Path entry, Set<String> entries) {
        if (!entries.add(entry.toString()) || !entry.toString().endsWith(".jar") || !Files.isRegularFile(entry)) {
            return;
        }
        try (JarFile jar = new JarFile(entry.toFile())) {
            Manifest manifest = jar.getManifest();
            String classPath = manifest == null ? null
                    : manifest.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (classPath == null) {
                return;
            }
            URI base = entry.toUri();
            for (String relative : classPath.trim().split("\\s+")) {
                if (!relative.isEmpty()) {
                    addWithManifest(Path.of(base.resolve(relative)), entries);
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            // Not a readable jar, or an odd manifest entry: keep the entry as it is.
        }
    }
}
