package dev.loupe.cli.support;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code loupe --version} (and every command's): Loupe's version, DJL's, and the Java running it. */
public final class LoupeVersion implements IVersionProvider {
    /** Written by Maven's resource filtering: the project's and DJL's versions. */
    private static final String PROPERTIES = "/dev/loupe/cli/version.properties";

    @Override
    public String[] getVersion() {
        Properties versions = new Properties();
        try (InputStream in = LoupeVersion.class.getResourceAsStream(PROPERTIES)) {
            if (in != null) {
                versions.load(in);
            }
        } catch (IOException e) {
            // Fall through to "unknown".
        }
        return new String[] {
            "loupe " + versions.getProperty("version", "(unknown version)"),
            "DJL " + versions.getProperty("djl", "(unknown)") + " with the PyTorch engine; Java "
                    + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"
        };
    }
}
