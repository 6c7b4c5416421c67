package dev.loupe.io.torch;

import static dev.loupe.testing.TensorAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model folder whose weights are PyTorch checkpoints, single and sharded, gives Hugging Face's logits. */
class TorchModelFolderTest {

    @Test
    void gpt2FromPytorchModelBin(@TempDir Path dir) throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = Fixtures.readAll(Fixtures.model("gpt2").resolve("model.safetensors"), manager);
            Files.copy(Fixtures.model("gpt2").resolve("config.json"), dir.resolve("config.json"));
            write(dir.resolve("pytorch_model.bin"), weights);
            assertLogitsMatch(dir, manager);
        }
    }

    @Test
    void gpt2FromShardedPytorchCheckpoints(@TempDir Path dir) throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = Fixtures.readAll(Fixtures.model("gpt2").resolve("model.safetensors"), manager);
            Files.copy(Fixtures.model("gpt2").resolve("config.json"), dir.resolve("config.json"));
            Map<String, NDArray> first = new LinkedHashMap<>();
            Map<String, NDArray> second = new LinkedHashMap<>();
            List<String> index = new ArrayList<>();
            weights.forEach((name, tensor) -> {
                boolean early = name.contains(".h.0.") || name.contains("wte");
                (early ? first : second).put(name, tensor);
                index.add("\"" + name + "\": \""
                        + (early ? "pytorch_model-00001-of-00002.bin" : "pytorch_model-00002-of-00002.bin") + "\"");
            });
            write(dir.resolve("pytorch_model-00001-of-00002.bin"), first);
            write(dir.resolve("pytorch_model-00002-of-00002.bin"), second);
            Files.writeString(dir.resolve("pytorch_model.bin.index.json"),
                    "{\"metadata\": {}, \"weight_map\": {" + String.join(", ", index) + "}}");
            assertLogitsMatch(dir, manager);
        }
    }

    private static void assertLogitsMatch(Path dir, NDManager manager) {
        Map<String, NDArray> reference = Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), manager);
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir)) {
            assertClose("logits", model.forward(reference.get("input_ids")), reference.get("logits"), 1e-4);
        }
    }

    /** Writes float32 tensors as torch.save would: one storage per tensor, an OrderedDict of rebuilds. */
    private static void write(Path file, Map<String, NDArray> tensors) {
        Map<String, PickleWriter.Spec> specs = new LinkedHashMap<>();
        List<byte[]> storages = new ArrayList<>();
        int key = 0;
        for (Map.Entry<String, NDArray> entry : tensors.entrySet()) {
            float[] values = entry.getValue().toFloatArray();
            ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(values);
            storages.add(bytes.array());
            specs.put(entry.getKey(), PickleWriter.Spec.contiguous("FloatStorage", String.valueOf(key++),
                    entry.getValue().getShape().getShape()));
        }
        TorchZip zip = TorchZip.of(PickleWriter.stateDict(specs));
        for (int i = 0; i < storages.size(); i++) {
            zip.storage(String.valueOf(i), storages.get(i));
        }
        zip.write(file);
    }
}
