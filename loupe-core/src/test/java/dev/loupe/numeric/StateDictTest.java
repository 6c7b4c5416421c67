package dev.loupe.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A scaled entry is made only when read, and copies keep it scaled. */
class StateDictTest {

    @Test
    void aScaledEntryIsMadeOnceWhenReadAndNotWhenIteratedPast() {
        try (NDManager manager = NDManager.newBaseManager()) {
            StateDict dict = new StateDict();
            NDArray stored = manager.create(new float[] {1, 2, 3});
            dict.put("a", manager.create(new float[] {7}));
            dict.putScaled("w", stored, 2f);
            dict.put("b", manager.create(new float[] {8}));
            int arrays = manager.getManagedArrays().size();

            List<String> keys = new ArrayList<>();
            dict.entrySet().forEach(e -> keys.add(e.getKey()));
            assertThat(keys).containsExactly("a", "w", "b");
            assertThat(StateDict.anyStored(dict, a -> a.getDataType() == DataType.FLOAT16)).isFalse();
            StateDict copy = StateDict.copyOf(dict);
            assertThat(StateDict.scaled(copy, "w")).contains(new StateDict.Scaled(stored, 2f));
            assertThat(manager.getManagedArrays()).hasSize(arrays);

            NDArray made = dict.get("w");
            assertThat(made.toFloatArray()).containsExactly(2, 4, 6);
            assertThat(dict.get("w")).isSameAs(made);
            assertThat(manager.getManagedArrays()).hasSize(arrays + 1);
        }
    }

    @Test
    void replacingOrMappingAnEntryBehavesAsAMapDoes() {
        try (NDManager manager = NDManager.newBaseManager()) {
            StateDict dict = new StateDict();
            NDArray stored = manager.create(new float[] {1, 2});
            dict.putScaled("w", stored, 3f);
            StateDict doubled = dict.map(a -> a.mul(2));
            assertThat(StateDict.scaled(doubled, "w").orElseThrow().stored().toFloatArray()).containsExactly(2, 4);
            assertThat(doubled.get("w").toFloatArray()).containsExactly(6, 12);

            NDArray plain = manager.create(new float[] {5});
            dict.put("w", plain);
            assertThat(StateDict.scaled(dict, "w")).isEmpty();
            assertThat(dict.get("w")).isSameAs(plain);
            assertThat(dict.remove("w")).isSameAs(plain);
            assertThat(dict).isEmpty();

            Map<String, NDArray> ordinary = new LinkedHashMap<>(Map.of("x", plain));
            assertThat(StateDict.scaled(ordinary, "x")).isEmpty();
            assertThat(StateDict.copyOf(ordinary)).containsEntry("x", plain);
        }
    }
}
