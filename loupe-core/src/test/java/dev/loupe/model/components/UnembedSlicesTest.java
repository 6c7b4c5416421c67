package dev.loupe.model.components;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.WeightDtype;
import dev.loupe.load.LoadedModel;
import dev.loupe.load.ModelLoader;
import dev.loupe.testing.Fixtures;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A float16 {@code W_U} multiplied a slice of the vocabulary at a time gives the logits of the whole product. */
class UnembedSlicesTest {

    @ParameterizedTest(name = "{0} columns a slice")
    @ValueSource(ints = {64, 1000, 50257, Unembed.SLICE_COLUMNS})
    void slicedLogitsEqualTheWholeFloat32Product(int sliceColumns) {
        // gpt2-tok: the real 50,257-token vocabulary, so the last slice is ragged.
        try (LoadedModel half = ModelLoader.read(Fixtures.model("gpt2-tok"), WeightDtype.FLOAT16);
             NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> widened = new LinkedHashMap<>(half.stateDict());
            widened.replaceAll((name, value) -> value.toType(DataType.FLOAT32, false));
            Unembed sliced = new Unembed(half.config(), new Parameters(half.stateDict(), half.weights()), new HookCatalog(),
                    sliceColumns);
            Unembed whole = new Unembed(half.config(), new Parameters(widened, half.weights()), new HookCatalog());
            assertThat(sliced.weights()).as("W_U is widened by the slices, not before").isEmpty();
            NDArray x = manager.randomNormal(new Shape(2, 7, half.config().dModel()));
            NDArray expected = whole.forward(x);
            NDArray actual = sliced.forward(x);
            assertThat(actual.getShape()).isEqualTo(new Shape(2, 7, 50257));
            float scale = expected.abs().max().getFloat();
            assertThat(actual.sub(expected).abs().max().getFloat()).isLessThanOrEqualTo(1e-6f * scale);
        }
    }
}
