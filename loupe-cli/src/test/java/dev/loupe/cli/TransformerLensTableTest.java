package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cache.ActivationCache;
import dev.loupe.config.TransformerConfig;
import dev.loupe.linalg.FactoredMatrix;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docs/transformerlens.md names only Loupe methods, constructors and constants that exist: every
 * {@code Class.method(}, {@code model.method(} (and {@code cache}, {@code cfg}, {@code fm}), {@code new Class(}
 * and {@code Class.CONSTANT} in the Loupe column's code, and each call chained on a call's result, is looked
 * up by reflection in Loupe's classes.
 */
class TransformerLensTableTest {
    private static final Path TABLE = Path.of("../docs/transformerlens.md");
    private static final Map<String, Class<?>> RECEIVERS = Map.of("model", HookedTransformer.class,
            "cache", ActivationCache.class, "cfg", TransformerConfig.class, "fm", FactoredMatrix.class);
    private static final Pattern CALL = Pattern.compile("(?<![\\w.])((?:[A-Z]\\w*\\.)*[A-Z]\\w*|model|cache|cfg|fm)\\.(\\w+)\\(");
    private static final Pattern CONSTRUCTOR = Pattern.compile("\\bnew ([A-Z]\\w*)\\(");
    private static final Pattern CONSTANT = Pattern.compile("(?<![\\w.])([A-Z]\\w*)\\.([A-Z][A-Z0-9_]*)\\b");
    private static final Pattern CODE = Pattern.compile("`([^`]+)`");
    /** Classes of the JDK and DJL the cells use around Loupe's calls. */
    private static final Set<String> NOT_LOUPE = Set.of("Path", "NDIndex");

    /** Simple name (also Outer.Inner) → Loupe classes of that name. */
    private static final Map<String, List<Class<?>>> CLASSES = new HashMap<>();

    @BeforeAll
    static void indexLoupesClasses() throws IOException, URISyntaxException {
        for (URL root : Collections.list(TransformerLensTableTest.class.getClassLoader().getResources("dev/loupe"))) {
            List<String> names = new ArrayList<>();
            if (root.getProtocol().equals("jar")) {
                try (JarFile jar = ((JarURLConnection) root.openConnection()).getJarFile()) {
                    jar.stream().map(e -> e.getName()).filter(n -> n.startsWith("dev/loupe/") && n.endsWith(".class"))
                            .forEach(names::add);
                }
            } else {
                Path dir = Path.of(root.toURI());
                Path base = dir.getParent().getParent();
                try (Stream<Path> files = Files.walk(dir)) {
                    files.filter(f -> f.toString().endsWith(".class"))
                            .forEach(f -> names.add(base.relativize(f).toString().replace('\\', '/')));
                }
            }
            for (String name : names) {
                String className = name.substring(0, name.length() - ".class".length()).replace('/', '.');
                String simple = className.substring(className.lastIndexOf('.') + 1);
                if (simple.matches(".*\\$\\d.*")) {
                    continue;
                }
                Class<?> type = load(className);
                if (type != null) {
                    CLASSES.computeIfAbsent(simple.replace('$', '.'), k -> new ArrayList<>()).add(type);
                    CLASSES.computeIfAbsent(simple.substring(simple.lastIndexOf('$') + 1), k -> new ArrayList<>()).add(type);
                }
            }
        }
    }

    private static Class<?> load(String className) {
        try {
            return Class.forName(className, false, TransformerLensTableTest.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    /** The code spans of the table's second column (Loupe's). */
    static List<String> loupeCode() {
        List<String> spans = new ArrayList<>();
        for (String row : lines()) {
            if (!row.startsWith("| ") || row.startsWith("| TransformerLens ")) {
                continue;
            }
            String[] cells = row.split(" \\| ");
            Matcher code = CODE.matcher(cells[1]);
            while (code.find()) {
                spans.add(code.group(1));
            }
        }
        return spans;
    }

    private static List<String> lines() {
        try {
            return Files.readAllLines(TABLE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void theTableHasAtLeastThirtyRowsAndSaysWhatFromPretrainedDoesToTheWeights() throws IOException {
        assertThat(lines().stream().filter(l -> l.startsWith("| `"))).hasSizeGreaterThanOrEqualTo(30);
        assertThat(String.join("\n", lines())).contains("`HookedTransformer.fromPretrained(...)` processes the weights")
                .contains("`HookedTransformer.fromPretrainedNoProcessing(...)` keeps Hugging Face's weights");
        assertThat(Files.readString(Path.of("../README.md"), StandardCharsets.UTF_8))
                .contains("(docs/transformerlens.md)");
    }

    @Test
    void everyMethodConstructorAndConstantTheLoupeColumnNamesExists() {
        List<String> checked = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String code : loupeCode()) {
            Matcher call = CALL.matcher(code);
            while (call.find()) {
                if (NOT_LOUPE.contains(call.group(1))) {
                    continue;
                }
                List<Class<?>> owners = owners(call.group(1));
                checked.add(call.group(1) + "." + call.group(2));
                List<Method> methods = owners.stream().flatMap(t -> Arrays.stream(t.getMethods()))
                        .filter(m -> m.getName().equals(call.group(2))).toList();
                boolean staticOnly = Character.isUpperCase(call.group(1).charAt(0));
                if (methods.stream().noneMatch(m -> !staticOnly || Modifier.isStatic(m.getModifiers()))) {
                    missing.add(call.group(1) + "." + call.group(2) + " in `" + code + "`");
                    continue;
                }
                checkChain(code, call.end() - 1, methods, checked, missing);
            }
            Matcher constructor = CONSTRUCTOR.matcher(code);
            while (constructor.find()) {
                if (NOT_LOUPE.contains(constructor.group(1))) {
                    continue;
                }
                checked.add("new " + constructor.group(1));
                if (owners(constructor.group(1)).stream().allMatch(t -> t.getConstructors().length == 0)) {
                    missing.add("new " + constructor.group(1) + " in `" + code + "`");
                }
            }
            Matcher constant = CONSTANT.matcher(code);
            while (constant.find()) {
                checked.add(constant.group(1) + "." + constant.group(2));
                boolean exists = owners(constant.group(1)).stream().anyMatch(t -> Arrays.stream(t.getFields())
                        .anyMatch(f -> f.getName().equals(constant.group(2)) && Modifier.isStatic(f.getModifiers())));
                if (!exists) {
                    missing.add(constant.group(1) + "." + constant.group(2) + " in `" + code + "`");
                }
            }
        }
        assertThat(missing).as("names in docs/transformerlens.md that Loupe lacks").isEmpty();
        assertThat(checked).hasSizeGreaterThanOrEqualTo(80).contains("model.runWithHooks", "model.loss",
                "HookedTransformer.fromPretrained", "Patching.residPre", "cache.accumulatedResid", "StackOptions.defaults");
    }

    /** The calls chained after the one whose '(' is at {@code open}: each on the previous call's return type. */
    private static void checkChain(String code, int open, List<Method> previous, List<String> checked, List<String> missing) {
        int at = open;
        List<Method> methods = previous;
        while (true) {
            int close = closing(code, at);
            Matcher next = Pattern.compile("\\G\\.(\\w+)\\(").matcher(code);
            if (close < 0 || !next.find(close + 1)) {
                return;
            }
            List<Class<?>> returned = methods.stream().<Class<?>>map(Method::getReturnType).distinct().toList();
            if (returned.size() != 1) {
                return;
            }
            String name = next.group(1);
            checked.add(returned.get(0).getSimpleName() + "." + name);
            methods = Arrays.stream(returned.get(0).getMethods()).filter(m -> m.getName().equals(name)).toList();
            if (methods.isEmpty()) {
                missing.add(returned.get(0).getSimpleName() + "." + name + " in `" + code + "`");
                return;
            }
            at = next.end() - 1;
        }
    }

    private static int closing(String code, int open) {
        int depth = 0;
        for (int i = open; i < code.length(); i++) {
            char c = code.charAt(i);
            if (c == '"') {
                i = code.indexOf('"', i + 1);
                if (i < 0) {
                    return -1;
                }
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    private static List<Class<?>> owners(String qualifier) {
        Class<?> receiver = RECEIVERS.get(qualifier);
        if (receiver != null) {
            return List.of(receiver);
        }
        List<Class<?>> types = CLASSES.getOrDefault(qualifier, List.of());
        assertThat(types).as("a Loupe class called " + qualifier + " (docs/transformerlens.md)").isNotEmpty();
        return types;
    }
}
