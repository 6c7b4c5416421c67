package dev.loupe.sae.pretrained;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.ClosestNames;
import dev.loupe.LoupeException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A release of SAEs, as SAELens's {@code pretrained_saes.yaml} describes it.
 *
 * @param name the release's name ({@code gpt2-small-res-jb})
 * @param repoId the Hugging Face model repository that holds its files
 * @param model the TransformerLens name of the model its SAEs were trained on ({@code gpt2-small})
 * @param format how its files are laid out
 * @param configOverrides values SAELens sets on every config of the release before parsing it ({@code {}} if none)
 * @param saes its SAEs by id, in the table's order (read-only)
 */
public record SaeRelease(String name, String repoId, String model, ReleaseFormat format, ObjectNode configOverrides,
        Map<String, ReleasedSae> saes) {
    private static final int SUGGESTIONS = 5;

    public SaeRelease {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(repoId, "repoId");
        Objects.requireNonNull(format, "format");
        configOverrides = configOverrides.deepCopy();
        saes = Collections.unmodifiableMap(new LinkedHashMap<>(saes));
    }

    /** The values SAELens sets on every config of the release (a copy). */
    @Override
    public ObjectNode configOverrides() {
        return configOverrides.deepCopy();
    }

    /**
     * The SAE {@code id}.
     *
     * @throws LoupeException if the release has none of that id, naming the closest ids
     */
    public ReleasedSae sae(String id) {
        ReleasedSae sae = saes.get(id);
        if (sae == null) {
            throw new LoupeException("The SAE release " + name + " has no id '" + id + "'; closest: "
                    + ClosestNames.of(id, saes.keySet(), SUGGESTIONS) + " (" + saes.size()
                    + " ids; Sae.pretrainedReleases() and `loupe sae releases " + name + "` list them)");
        }
        return sae;
    }
}
