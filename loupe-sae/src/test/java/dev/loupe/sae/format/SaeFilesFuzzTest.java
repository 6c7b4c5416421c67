package dev.loupe.sae.format;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutations of an SAE folder and of a Gemma Scope npz (bit flips, planted bytes, truncation): each must
 * load or be refused with a LoupeException that names the file, never with another exception.
 */
class SaeFilesFuzzTest {
    private static final int CASES = 150;

    private static byte[] mutate(byte[] original, Random random) {
        byte[] bytes = original.clone();
        switch (random.nextInt(3)) {
            case 0 -> {
                for (int i = 0, n = 1 + random.nextInt(4); i < n; i++) {
                    int at = random.nextInt(bytes.length);
                    bytes[at] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> {
                int at = random.nextInt(Math.min(bytes.length, 200));
                byte[] planted = {'9', '9', '9', '9', '9', '9', '9'};
                System.arraycopy(planted, 0, bytes, at, Math.min(planted.length, bytes.length - at));
            }
            default -> bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length));
        }
        return bytes;
    }

    @Test
    void mutatedFoldersLoadOrAreRefusedNamingTheFile(@TempDir Path dir) throws IOException {
        Path source = SaeFixtures.saeDir("gpt2/jumprelu_z_l0");
        byte[] cfg = Files.readAllBytes(source.resolve(SaeFiles.CFG));
        byte[] weights = Files.readAllBytes(source.resolve(SaeFiles.WEIGHTS));
        byte[] npz = Files.readAllBytes(SaeFixtures.entry("gemma2/gemmascope_res_l0").resolve("params.npz"));
        Random random = new Random(2020);
        int refused = 0;
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int i = 0; i < CASES; i++) {
                Path folder = Files.createDirectory(dir.resolve("case" + i));
                int target = random.nextInt(3);
                Files.write(folder.resolve(SaeFiles.CFG), target == 0 ? mutate(cfg, random) : cfg);
                Files.write(folder.resolve(SaeFiles.WEIGHTS), target == 1 ? mutate(weights, random) : weights);
                Path params = folder.resolve("params.npz");
                Files.write(params, target == 2 ? mutate(npz, random) : npz);
                try {
                    if (target == 2) {
                        Sae.fromGemmaScope(params, "google/gemma-scope-2b-pt-res", "layer_0/width_16k/x",
                                tinyModel(), manager).close();
                    } else {
                        Sae.load(folder, manager).close();
                    }
                } catch (LoupeException e) {
                    refused++;
                    assertThat(e.getMessage()).as("case " + i).contains(folder.toString());
                }
            }
        }
        System.out.println("SAE folder fuzz: " + refused + " of " + CASES + " refused, the rest loaded");
        assertThat(refused).isPositive();
    }

    /** The tiny model's widths. */
    private static ObjectNode tinyModel() {
        ObjectNode overrides = JsonNodeFactory.instance.objectNode();
        overrides.put("d_in", 32);
        overrides.put("d_sae", 192);
        return overrides;
    }
}
