package dev.loupe.cli.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The line every page and image (the demo's page, each {@code loupe view}) shows about the model's weights, so
 * that nobody reads meaning into patterns of random numbers. It is decided from what the model folder records
 * about itself, never from where the folder is:
 * <ul>
 *   <li>random: the folder's {@code reference.json} has a {@code weight_seed}, the seed the fixture generator drew
 *       every parameter from (each model under {@code testdata/models} has one; see {@code FIXTURES.md});</li>
 *   <li>trained by Loupe: the folder's {@code training.json}, which {@code loupe train toy} and
 *       {@code loupe train ioi} write, records the optimizer steps taken ({@code options.steps}, more than 0)
 *       and the final training loss
 *       ({@code models/induction-2l}, {@code models/attn-only-1l}, {@code models/ioi-3l});</li>
 *   <li>otherwise the checkpoint as published (a Hugging Face folder, a model from the Hub), taken as trained.</li>
 * </ul>
 */
public final class WeightsNote {
    /** The start of the random-weights line, for the pages' tests. */
    public static final String RANDOM = "Random weights";
    /** The start of the trained-weights line, for the pages' tests. */
    public static final String TRAINED = "Trained weights";

    private WeightsNote() {}

    /** Whether the model in {@code dir} has random weights: its {@code reference.json} records a weight seed. */
    public static boolean isRandomFixture(Path dir) {
        return weightSeed(dir) != null;
    }

    /** The line for the model in {@code dir}. */
    public static String of(Path dir) {
        JsonNode seed = weightSeed(dir);
        if (seed != null) {
            return RANDOM + " (drawn with seed " + seed.asText() + ", as this fixture's reference.json records): these"
                    + " views show the machinery, not what a trained model does.";
        }
        JsonNode training = json(dir.resolve("training.json"));
        if (training != null && training.path("options").path("steps").asLong(0) > 0) {
            return String.format(Locale.ROOT, "%s: Loupe trained this model for %d steps (final training loss %.3f;"
                    + " its training.json and MODEL.md say how).", TRAINED, training.path("options").path("steps").asLong(),
                    training.path("final_training_loss").asDouble(Double.NaN));
        }
        return TRAINED + ": the checkpoint as published in " + dir.getFileName() + ".";
    }

    /** The {@code weight_seed} of {@code dir/reference.json}, or null when there is none. */
    private static JsonNode weightSeed(Path dir) {
        JsonNode reference = json(dir.resolve("reference.json"));
        JsonNode seed = reference == null ? null : reference.get("weight_seed");
        return seed != null && seed.canConvertToLong() ? seed : null;
    }

    /** The JSON object in {@code file}, or null when it is missing or not a JSON object (the note is then plainer). */
    private static JsonNode json(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonNode node = new ObjectMapper().readTree(file.toFile());
            return node != null && node.isObject() ? node : null;
        } catch (IOException e) {
            return null;
        }
    }
}
