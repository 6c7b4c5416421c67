package dev.loupe.sae.format;

import static dev.loupe.sae.format.SaeFilesRoundTripTest.assertSameJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.CheckpointException;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Gemma Scope's params.npz converted as SAELens's gemma_2 loader does, against what it wrote. */
class GemmaScopeTest {
    private static final Path ENTRY = SaeFixtures.entry("gemma2/gemmascope_res_l0");
    private static final String REPO = "google/gemma-scope-2b-pt-res";
    private static final String FOLDER = "layer_0/width_16k/average_l0_105";

    private static ObjectNode tinyModel() {
        ObjectNode overrides = JsonNodeFactory.instance.objectNode();
        overrides.put("d_in", 32);
        overrides.put("d_sae", 192);
        return overrides;
    }

    @Test
    void theConversionIsBitwiseSaeLensAndSavesItsConfig(@TempDir Path out) {
        try (NDManager manager = NDManager.newBaseManager();
             Sae sae = Sae.fromGemmaScope(ENTRY.resolve("params.npz"), REPO, FOLDER, tinyModel(), manager)) {
            Map<String, NDArray> converted = Fixtures.readAll(ENTRY.resolve("converted").resolve(SaeFiles.WEIGHTS), manager);
            assertThat(sae.tensors().keySet()).containsExactlyInAnyOrderElementsOf(converted.keySet());
            converted.forEach((name, expected) -> {
                assertThat(sae.tensor(name).getShape()).as(name).isEqualTo(expected.getShape());
                assertThat(sae.tensor(name).toFloatArray()).as(name + " bitwise").isEqualTo(expected.toFloatArray());
            });
            assertThat(sae.hookName()).isEqualTo("blocks.0.hook_resid_post");
            assertThat(sae.cfg().architecture()).isEqualTo(SaeArchitecture.JUMPRELU);
            sae.save(out);
            assertSameJson("converted cfg.json", Fixtures.json(out.resolve(SaeFiles.CFG)),
                    Fixtures.json(ENTRY.resolve("converted").resolve(SaeFiles.CFG)));
        }
    }

    @Test
    void hookWidthAndModelComeFromTheNames() {
        SaeConfig res = SaeConfigJson.read(GemmaScope.config("google/gemma-scope-9b-pt-res", "layer_20/width_131k/x", "t"), "t");
        assertThat(res.hookName()).isEqualTo("blocks.20.hook_resid_post");
        assertThat(res.dIn()).isEqualTo(3584);
        assertThat(res.dSae()).isEqualTo(131072);
        assertThat(res.metadata().get("model_name").asText()).isEqualTo("gemma-2-9b");
        SaeConfig mlp = SaeConfigJson.read(GemmaScope.config("google/gemma-scope-2b-pt-mlp", "layer_3/width_65k/x", "t"), "t");
        assertThat(mlp.hookName()).isEqualTo("blocks.3.hook_mlp_out");
        SaeConfig att = SaeConfigJson.read(GemmaScope.config("google/gemma-scope-2b-pt-att", "layer_3/width_16k/x", "t"), "t");
        assertThat(att.hookName()).isEqualTo("blocks.3.attn.hook_z");
        assertThat(att.dIn()).isEqualTo(2048);
        SaeConfig embed = SaeConfigJson.read(GemmaScope.config("google/gemma-scope-2b-pt-res", "embedding/width_4k/x", "t"), "t");
        assertThat(embed.hookName()).isEqualTo("hook_embed");
        assertThatThrownBy(() -> GemmaScope.config("google/gemma-scope-2b-pt-res", "width_16k", "f.npz"))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("f.npz").hasMessageContaining("layer_N");
        assertThatThrownBy(() -> GemmaScope.config("google/other-scope-res", "layer_1/width_16k", "f.npz"))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("model size");
    }

    @Test
    void lowerCaseWeightKeysAreRenamed(@TempDir Path dir) throws IOException {
        Path npz = dir.resolve("params.npz");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(npz))) {
            String[][] entries = {{"w_enc", "2, 3"}, {"w_dec", "3, 2"}, {"b_enc", "3,"}, {"b_dec", "2,"}, {"threshold", "3,"}};
            for (String[] entry : entries) {
                int n = entry[1].equals("2,") ? 2 : entry[1].equals("3,") ? 3 : 6;
                zip.putNextEntry(new ZipEntry(entry[0] + ".npy"));
                zip.write(NpyReaderTest.npy("<f4", false, entry[1], NpyReaderTest.floats(new float[n])));
                zip.closeEntry();
            }
        }
        ObjectNode overrides = JsonNodeFactory.instance.objectNode();
        overrides.put("d_in", 2);
        overrides.put("d_sae", 3);
        try (NDManager manager = NDManager.newBaseManager();
             Sae sae = Sae.fromGemmaScope(npz, "google/gemma-scope-2b-pt-mlp", "layer_5/width_4k/canonical", overrides,
                     manager)) {
            assertThat(sae.tensors().keySet()).containsExactly("W_enc", "W_dec", "b_enc", "b_dec", "threshold");
            assertThat(sae.hookName()).isEqualTo("blocks.5.hook_mlp_out");
        }
    }

    @Test
    void anEmbeddingSaeIsRescaledBySqrtDIn() {
        try (NDManager manager = NDManager.newBaseManager();
             Sae plain = Sae.fromGemmaScope(ENTRY.resolve("params.npz"), REPO, FOLDER, tinyModel(), manager);
             Sae embed = Sae.fromGemmaScope(ENTRY.resolve("params.npz"), REPO, "embedding/width_16k/average_l0_105",
                     tinyModel(), manager)) {
            float root = (float) Math.sqrt(32);
            assertThat(embed.hookName()).isEqualTo("hook_embed");
            assertThat(embed.wEnc().toFloatArray()).isEqualTo(plain.wEnc().div(root).toFloatArray());
            assertThat(embed.wDec().toFloatArray()).isEqualTo(plain.wDec().mul(root).toFloatArray());
        }
    }
}
