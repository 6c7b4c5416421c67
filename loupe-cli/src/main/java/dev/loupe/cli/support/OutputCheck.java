package dev.loupe.cli.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * The one check of every command that writes a file: no output may be one of the command's input
 * files, nor lie inside a model folder or a lens folder the command reads. Paths are compared as the
 * file system resolves them (absolute, {@code ..} and symbolic links followed, for outputs that do
 * not exist yet through their nearest existing folder), so {@code ./m/../m/model.safetensors}, a
 * link to it and the Hugging Face cache's blob behind a snapshot's link all count as the file.
 * A refusal is a usage error (exit code 2) raised before anything is loaded or written.
 *
 * <pre>{@code
 * OutputCheck.of(spec).modelFolder(modelOptions.folder()).file("--input", input).refuseFile("--out", out);
 * }</pre>
 */
public final class OutputCheck {
    /** An input: what messages call it and its real path. */
    private record Input(String what, Path real) {}

    private final CommandSpec spec;
    private final List<Input> folders = new ArrayList<>();
    private final List<Input> files = new ArrayList<>();

    private OutputCheck(CommandSpec spec) {
        this.spec = spec;
    }

    /** A check for the command {@code spec}, with no inputs yet. */
    public static OutputCheck of(CommandSpec spec) {
        return new OutputCheck(spec);
    }

    /** The model folder the command reads ({@code --model}): nothing may be written inside it. */
    public OutputCheck modelFolder(Path dir) {
        return folder("the model folder " + dir + " (--model)", dir);
    }

    /** A lens folder the command reads ({@code option} names it), or nothing if {@code dir} is null. */
    public OutputCheck lensFolder(String option, Path dir) {
        return dir == null ? this : folder("the lens folder " + dir + " (" + option + ")", dir);
    }

    /** An input folder of another kind (an SAE's, {@code what} says which), or nothing if {@code dir} is null. */
    public OutputCheck inputFolder(String what, String option, Path dir) {
        return dir == null ? this : folder("the " + what + " folder " + dir + " (" + option + ")", dir);
    }

    /** An input file ({@code option} names it), or nothing if {@code file} is null. */
    public OutputCheck file(String option, Path file) {
        if (file != null) {
            files.add(new Input("the " + option + " file " + file, real(file)));
        }
        return this;
    }

    /** Input files ({@code option} names them), or nothing if {@code inputs} is null. */
    public OutputCheck files(String option, List<Path> inputs) {
        if (inputs != null) {
            inputs.forEach(file -> file(option, file));
        }
        return this;
    }

    /**
     * Refuses the output file {@code out} ({@code option} names it) if it is an input or inside an
     * input folder; nothing if {@code out} is null.
     *
     * @throws ParameterException naming the output and the input it would overwrite
     */
    public void refuseFile(String option, Path out) {
        if (out != null) {
            refuse(option + " " + out, real(out));
        }
    }

    /**
     * Refuses the output folder {@code dir} ({@code option} names it) if it is inside an input
     * folder, or if one of the files the command writes into it, {@code names}, is an input.
     */
    public void refuseFolder(String option, Path dir, String... names) {
        if (dir == null) {
            return;
        }
        Path real = real(dir);
        refuse(option + " " + dir, real);
        for (String name : names) {
            refuse(option + " " + dir + " (its " + name + ")", real(dir.resolve(name)));
        }
    }

    private void refuse(String output, Path real) {
        for (Input folder : folders) {
            if (real.startsWith(folder.real())) {
                throw new ParameterException(spec.commandLine(), output + " is inside " + folder.what() + ", which"
                        + " this command reads and must never change; write the output outside it");
            }
        }
        for (Input file : files) {
            if (real.equals(file.real())) {
                throw new ParameterException(spec.commandLine(), output + " is " + file.what() + ": writing it would"
                        + " destroy the input; choose another output");
            }
        }
    }

    private OutputCheck folder(String what, Path dir) {
        Path real = real(dir);
        folders.add(new Input(what, real));
        // A folder's files may be links to files elsewhere (the Hugging Face cache's snapshots link to
        // its blobs): those files are inputs too.
        if (Files.isDirectory(real)) {
            try (Stream<Path> entries = Files.list(real)) {
                entries.filter(Files::isRegularFile).forEach(file -> files.add(new Input("a file of " + what + ", "
                        + real(file), real(file))));
            } catch (IOException | RuntimeException unreadable) {
                // The folder's own path still protects what is inside it.
            }
        }
        return this;
    }

    /**
     * {@code path} as the file system resolves it: {@link Path#toRealPath} where it exists; else its
     * parent's real path and its name (following a dangling link to where it points).
     */
    static Path real(Path path) {
        return real(path.toAbsolutePath(), 0);
    }

    private static Path real(Path absolute, int links) {
        try {
            return absolute.toRealPath();
        } catch (IOException missing) {
            if (links < 40 && Files.isSymbolicLink(absolute)) {
                try {
                    Path target = Files.readSymbolicLink(absolute);
                    return real(absolute.resolveSibling(target).toAbsolutePath(), links + 1);
                } catch (IOException unreadable) {
                    // Compare it as named.
                }
            }
            Path parent = absolute.getParent();
            Path name = absolute.getFileName();
            if (parent == null || name == null) {
                return absolute.normalize();
            }
            Path realParent = real(parent, links);
            return switch (name.toString()) {
                case "." -> realParent;
                case ".." -> realParent.getParent() != null ? realParent.getParent() : realParent;
                default -> realParent.resolve(name);
            };
        }
    }
}
