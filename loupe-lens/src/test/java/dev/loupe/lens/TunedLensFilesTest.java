package dev.loupe.lens;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.io.torch.TorchCheckpoint;
import dev.loupe.io.torch.TorchCheckpointWriter;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Saving and loading lenses in the Python library's folder format. */
class TunedLensFilesTest {
    private static HookedTransformer model;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(LensFixtures.BASE_MODEL);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void savingThenLoadingGivesIdenticalParametersInBothFormats() {
        try (TunedLens original = TunedLens.load(LensFixtures.LENS, model)) {
            original.save(dir.resolve("pt"));
            original.save(dir.resolve("st"), TunedLensFiles.Format.SAFETENSORS);
            assertThat(dir.resolve("pt/params.pt")).exists();
            assertThat(dir.resolve("st/params.safetensors")).exists();
            for (String folder : List.of("pt", "st")) {
                try (TunedLens back = TunedLens.load(dir.resolve(folder), model)) {
                    assertThat(back.stateDict().keySet()).containsExactlyElementsOf(original.stateDict().keySet());
                    original.stateDict().forEach((name, value) -> assertThat(back.stateDict().get(name).toFloatArray())
                            .as(folder + " " + name).containsExactly(value.toFloatArray()));
                    assertThat(back.config().unembedHash()).isEqualTo(original.config().unembedHash());
                }
            }
        }
    }

    @Test
    void theWrittenParamsPtIsTorchsOwnFileForTheSameTensors() throws IOException {
        try (TunedLens original = TunedLens.load(LensFixtures.LENS, model)) {
            original.save(dir);
        }
        try (ZipFile expected = new ZipFile(LensFixtures.LENS.resolve("params.pt").toFile());
             ZipFile actual = new ZipFile(dir.resolve("params.pt").toFile())) {
            List<String> names = Collections.list(expected.entries()).stream().map(ZipEntry::getName).toList();
            assertThat(Collections.list(actual.entries()).stream().map(ZipEntry::getName).toList())
                    .containsExactlyElementsOf(names);
            for (String name : names) {
                if (!name.endsWith("serialization_id")) { // torch's is random
                    assertThat(read(actual, name)).as(name).isEqualTo(read(expected, name));
                }
            }
        }
    }

    @Test
    void theConfigKeepsThePythonKeysAndAddsFingerprintBasisAndHook() throws IOException {
        try (TunedLens fresh = TunedLens.create(model)) {
            fresh.save(dir);
        }
        JsonNode json = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        assertThat(json.fieldNames()).toIterable().containsExactly("base_model_name_or_path", "d_model",
                "num_hidden_layers", "bias", "base_model_revision", "unembed_hash", "lens_type", "unembed_fingerprint",
                "weight_processing", "hook");
        assertThat(json.get("unembed_fingerprint").asText()).isEqualTo(Unembedding.of(model).fingerprint()).hasSize(64);
        assertThat(json.get("weight_processing")).isEmpty();
        assertThat(json.get("hook").asText()).isEqualTo("resid_pre");
        assertThat(json.get("lens_type").asText()).isEqualTo("linear_tuned_lens");
    }

    @Test
    void oldConfigKeysFp16ParametersAndCudaStorageTagsAreRead() throws IOException {
        // A config with the old typo key and one this version does not know, as on the Hub.
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(LensFixtures.LENS.resolve("config.json").toFile());
        config.put("unemebd_hash", config.remove("unembed_hash").asText());
        config.put("some_future_key", 3);
        Files.writeString(dir.resolve("config.json"), config.toString());
        Path pt = dir.resolve("params.pt");
        try (NDManager manager = NDManager.newBaseManager();
             TorchCheckpoint source = TorchCheckpoint.open(LensFixtures.LENS.resolve("params.pt"))) {
            Map<String, NDArray> half = new LinkedHashMap<>();
            for (String name : source.names()) {
                half.put(name, source.load(name, manager).toType(DataType.FLOAT16, false));
            }
            TorchCheckpointWriter.write(pt, half);
        }
        retagStorages(pt, "cuda:0");
        try (TunedLens fp32 = TunedLens.load(LensFixtures.LENS, model);
             TunedLens fp16 = TunedLens.load(dir, model);
             TorchCheckpoint check = TorchCheckpoint.open(pt)) {
            assertThat(check.dtype("0.weight")).isEqualTo("float16");
            assertThat(fp16.config().unembedHash()).isNull();
            float[] a = fp32.weight(0).toFloatArray();
            float[] b = fp16.weight(0).toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertThat(b[i]).isCloseTo(a[i], org.assertj.core.data.Offset.offset(Math.abs(a[i]) * 1e-3f + 1e-6f));
            }
        }
    }

    @Test
    void aLensWithoutBiasSavesAndLoadsWithoutBiasTensors() {
        try (TunedLens noBias = TunedLens.create(model, LensHook.RESID_PRE, false)) {
            assertThat(noBias.stateDict()).containsOnlyKeys("0.weight", "1.weight");
            noBias.save(dir);
            try (NDManager manager = NDManager.newBaseManager();
                 TunedLens back = TunedLens.load(dir, model);
                 LensInputs inputs = LensInputs.run(model, model.toTokens("Paris is", manager))) {
                assertThat(back.config().bias()).isFalse();
                assertThat(back.bias(0)).isNull();
                assertThat(dev.loupe.testing.TensorAssert.maxAbsDiff(back.forward(inputs.hidden(0), 0),
                        LogitLens.of(model).forward(inputs.hidden(0)))).isZero();
            }
        }
    }

    private static byte[] read(ZipFile zip, String name) throws IOException {
        try (InputStream in = zip.getInputStream(zip.getEntry(name))) {
            return in.readAllBytes();
        }
    }

    /** Rewrites every storage location 'cpu' in data.pkl as {@code location}, as Hub files pickled on a GPU have. */
    private static void retagStorages(Path pt, String location) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(pt.toFile())) {
            for (ZipEntry entry : Collections.list(zip.entries())) {
                entries.put(entry.getName(), read(zip, entry.getName()));
            }
        }
        String pickleName = entries.keySet().stream().filter(n -> n.endsWith("data.pkl")).findFirst().orElseThrow();
        byte[] cpu = binunicode("cpu");
        byte[] gpu = binunicode(location);
        byte[] pickle = entries.get(pickleName);
        int at = indexOf(pickle, cpu);
        assertThat(at).isPositive();
        byte[] patched = new byte[pickle.length - cpu.length + gpu.length];
        System.arraycopy(pickle, 0, patched, 0, at);
        System.arraycopy(gpu, 0, patched, at, gpu.length);
        System.arraycopy(pickle, at + cpu.length, patched, at + gpu.length, pickle.length - at - cpu.length);
        entries.put(pickleName, patched);
        try (OutputStream file = Files.newOutputStream(pt); ZipOutputStream zip = new ZipOutputStream(file)) {
            for (Map.Entry<String, byte[]> entry : entries.entrySet()) {
                ZipEntry stored = new ZipEntry(entry.getKey());
                stored.setMethod(ZipEntry.STORED);
                stored.setSize(entry.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(entry.getValue());
                stored.setCrc(crc.getValue());
                zip.putNextEntry(stored);
                zip.write(entry.getValue());
                zip.closeEntry();
            }
        }
    }

    private static byte[] binunicode(String s) {
        byte[] text = s.getBytes(StandardCharsets.UTF_8);
        byte[] op = new byte[5 + text.length];
        op[0] = 'X';
        op[1] = (byte) text.length;
        System.arraycopy(text, 0, op, 5, text.length);
        return op;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
