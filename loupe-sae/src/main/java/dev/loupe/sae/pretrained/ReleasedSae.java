package dev.loupe.sae.pretrained;

import java.util.Objects;

/**
 * One SAE of a release, as SAELens's table lists it.
 *
 * @param id the name users give ({@code blocks.0.hook_resid_pre}, {@code layer_0/width_16k/canonical})
 * @param path where it lies in the release's repository ({@code layer_0/width_16k/average_l0_105})
 * @param neuronpediaId its Neuronpedia id, or null; SAELens records it in the config's metadata
 */
public record ReleasedSae(String id, String path, String neuronpediaId) {
    public ReleasedSae {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(path, "path");
    }
}
