package dev.loupe.cli.support;

import ai.djl.ndarray.NDManager;
import dev.loupe.ClosestNames;
import dev.loupe.LoupeException;
import dev.loupe.sae.Sae;
import dev.loupe.sae.pretrained.SaeRelease;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.ITypeConverter;

/**
 * One value of an {@code --sae} option: an SAE folder ({@code cfg.json} + {@code sae_weights.safetensors}), which
 * wins when it exists, or {@code RELEASE/ID}, an SAE of a release {@link Sae#pretrainedReleases()} lists
 * ({@code gpt2-small-res-jb/blocks.0.hook_resid_pre}, {@code gemma-scope-2b-pt-res-canonical/layer_0/width_16k/canonical}:
 * the release up to the first {@code /}, the id after it), fetched as {@link Sae#fromPretrained(String, String,
 * NDManager)} fetches it (the Hub and cache of the {@code HF_*} variables, offline from the cache).
 *
 * @param given the value as typed
 */
public record SaeOption(String given) {
    /** What the options' help says about the values. */
    public static final String HELP = "An SAE folder (cfg.json + sae_weights.safetensors), or RELEASE/ID of a released"
            + " SAE (e.g. gpt2-small-res-jb/blocks.0.hook_resid_pre), downloaded from the Hugging Face Hub unless cached";

    /** Picocli's converter for {@code --sae} values ({@code converter = SaeOption.Converter.class}). */
    public static final class Converter implements ITypeConverter<SaeOption> {
        @Override
        public SaeOption convert(String value) {
            return new SaeOption(value);
        }
    }

    /** The folder it names, if it names an existing one. */
    public Optional<Path> folder() {
        try {
            Path path = Path.of(given);
            return Files.isDirectory(path) ? Optional.of(path) : Optional.empty();
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
    }

    /**
     * Loads it.
     *
     * @throws LoupeException if it is neither a folder nor RELEASE/ID of a known release, naming the closest releases
     */
    public Sae load(NDManager manager) {
        Optional<Path> folder = folder();
        if (folder.isPresent()) {
            return Sae.load(folder.get(), manager);
        }
        List<String> releases = Sae.pretrainedReleases().stream().map(SaeRelease::name).toList();
        int slash = given.indexOf('/');
        String release = slash < 0 ? given : given.substring(0, slash);
        if (slash < 0 || !releases.contains(release)) {
            throw new LoupeException("--sae " + given + ": no such folder, and not RELEASE/ID of a released SAE (closest"
                    + " releases: " + ClosestNames.of(release, releases, 3) + "; `loupe sae releases` lists them and their ids)");
        }
        return Sae.fromPretrained(release, given.substring(slash + 1), manager);
    }

    @Override
    public String toString() {
        return given;
    }
}
