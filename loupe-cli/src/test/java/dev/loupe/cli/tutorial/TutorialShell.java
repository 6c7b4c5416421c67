package dev.loupe.cli.tutorial;

import dev.loupe.cli.command.ShellCommand;
import dev.loupe.config.WeightDtype;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import jdk.jshell.DeclarationSnippet;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.VarSnippet;

/**
 * JShell in this JVM (local execution, as {@code loupe shell} runs it) with {@code loupe shell}'s start-up,
 * running a tutorial's blocks one after another and collecting what each prints to {@code System.out}.
 * {@link TutorialJvm} runs it in a JVM of its own whose working directory is the repository.
 */
final class TutorialShell implements AutoCloseable {
    /** JShell's DEFAULT start-up, which {@code loupe shell} also runs. */
    private static final List<String> DEFAULT_IMPORTS = List.of("java.io", "java.math", "java.net", "java.nio.file",
            "java.util", "java.util.concurrent", "java.util.function", "java.util.prefs", "java.util.regex",
            "java.util.stream");

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final PrintStream stdout = System.out;
    private final JShell shell;

    TutorialShell() {
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        String classPath = ShellCommand.classPath();
        shell = JShell.builder().executionEngine("local").compilerOptions("--class-path", classPath).build();
        shell.addToClasspath(classPath);
        StringBuilder startup = new StringBuilder();
        DEFAULT_IMPORTS.forEach(pkg -> startup.append("import ").append(pkg).append(".*;\n"));
        startup.append(ShellCommand.startupScript(null, true, WeightDtype.FLOAT32));
        run("the start-up", startup.toString());
    }

    /**
     * Runs {@code code} and returns what it printed.
     *
     * @param where the block's place, for messages
     * @throws AssertionError when a snippet does not compile or throws
     */
    String run(String where, String code) {
        printed.reset();
        SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
        String rest = code;
        while (!rest.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
            if (!info.completeness().isComplete()) {
                throw new AssertionError(where + ": the block ends in the middle of a snippet: " + rest.strip());
            }
            for (SnippetEvent event : shell.eval(info.source())) {
                check(where, event);
            }
            rest = info.remaining();
        }
        System.out.flush();
        return printed.toString(StandardCharsets.UTF_8);
    }

    private void check(String where, SnippetEvent event) {
        Snippet snippet = event.snippet();
        if (event.status() == Snippet.Status.REJECTED || event.status() == Snippet.Status.RECOVERABLE_DEFINED
                || event.status() == Snippet.Status.RECOVERABLE_NOT_DEFINED) {
            String diagnostics = shell.diagnostics(snippet).map(d -> d.getMessage(Locale.ROOT))
                    .map(m -> m.replace('\n', ' ')).collect(Collectors.joining("; "));
            String unresolved = snippet instanceof DeclarationSnippet declaration
                    ? shell.unresolvedDependencies(declaration).collect(Collectors.joining(", ")) : "";
            throw new AssertionError(where + ": this snippet does not compile (" + event.status() + "): "
                    + snippet.source().strip() + "\n  " + diagnostics
                    + (unresolved.isEmpty() ? "" : "\n  unresolved: " + unresolved));
        }
        if (event.causeSnippet() != null && snippet instanceof VarSnippet variable
                && event.previousStatus() == Snippet.Status.VALID) {
            // JShell recompiles a variable when a later import may change what its type names mean, and resets it.
            throw new AssertionError(where + ": this snippet makes JShell recompile the variable " + variable.name()
                    + ", which resets it to null; import before declaring variables: "
                    + event.causeSnippet().source().strip());
        }
        JShellException thrown = event.exception();
        if (thrown != null) {
            String type = thrown instanceof EvalException e ? e.getExceptionClassName() : thrown.getClass().getName();
            throw new AssertionError(where + ": this snippet threw " + type + ": " + thrown.getMessage() + "\n  "
                    + snippet.source().strip() + "\n  printed before: " + printed.toString(StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() {
        shell.close();
        System.setOut(stdout);
    }
}
