package dev.loupe.sae.format;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every fixture SAE folder read, written and read again: identical tensors, and SAELens's exact config. */
class SaeFilesRoundTripTest {
    static List<String> folders() {
        List<String> all = new ArrayList<>(Arrays.asList(SaeFixtures.SAES));
        all.add("gpt2/transcoder_l0");
        return all;
    }

    /** Equal JSON with the same key order at every level. */
    static void assertSameJson(String what, JsonNode actual, JsonNode expected) {
        assertThat(actual).as(what).isEqualTo(expected);
        if (expected.isObject()) {
            List<String> a = new ArrayList<>();
            List<String> e = new ArrayList<>();
            actual.fieldNames().forEachRemaining(a::add);
            expected.fieldNames().forEachRemaining(e::add);
            assertThat(a).as(what + " key order").isEqualTo(e);
            for (Iterator<String> it = expected.fieldNames(); it.hasNext();) {
                String key = it.next();
                assertSameJson(what + "." + key, actual.get(key), expected.get(key));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("folders")
    void anSaeWrittenByLoupeReloadsIdenticallyWithSaeLensConfig(String name, @TempDir Path out) throws IOException {
        Path dir = SaeFixtures.saeDir(name);
        JsonNode original = Fixtures.json(dir.resolve(SaeFiles.CFG));
        assertSameJson(name + " cfg as SAELens writes it", SaeConfigJson.toJson(SaeFiles.readConfig(dir.resolve(SaeFiles.CFG))),
                original);
        try (NDManager manager = NDManager.newBaseManager(); Sae sae = Sae.load(dir, manager)) {
            sae.save(out);
            assertSameJson(name + " written cfg.json", Fixtures.json(out.resolve(SaeFiles.CFG)), original);
            try (Sae again = Sae.load(out, manager)) {
                assertThat(again.cfg()).isEqualTo(sae.cfg());
                assertThat(again.tensors().keySet()).isEqualTo(sae.tensors().keySet());
                for (Map.Entry<String, NDArray> t : sae.tensors().entrySet()) {
                    assertThat(again.tensor(t.getKey()).toFloatArray()).as(name + " " + t.getKey())
                            .isEqualTo(t.getValue().toFloatArray());
                }
            }
            assertThat(Files.readString(out.resolve(SaeFiles.CFG))).as(name + " cfg.json bytes")
                    .isEqualTo(Files.readString(dir.resolve(SaeFiles.CFG)));
            // SAELens's safetensors are float32 with names sorted: Loupe's writer gives the same bytes.
            assertThat(Files.readAllBytes(out.resolve(SaeFiles.WEIGHTS))).as(name + " sae_weights.safetensors bytes")
                    .isEqualTo(Files.readAllBytes(dir.resolve(SaeFiles.WEIGHTS)));
        }
    }
}
