package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookSpec;
import dev.loupe.process.ProcessOptions;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ReturnType;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.TinyGpt2;
import dev.loupe.tokenize.TextOptions;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a wrong use of the model says: a closed model, a scalar where token ids belong (issue 19, item 8). */
class ModelMisuseTest {

    @Test
    void everyPublicMethodOfAClosedModelSaysThatTheModelWasClosed() {
        HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        model.close();
        model.close(); // twice does nothing
        assertThat(model.isClosed()).isTrue();
        Set<String> notEntryPoints = Set.of("close", "isClosed");
        List<String> wrong = new ArrayList<>();
        int checked = 0;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(new long[][] {{1, 2, 3}});
            for (Method method : HookedTransformer.class.getMethods()) {
                if (Modifier.isStatic(method.getModifiers()) || method.getDeclaringClass() == Object.class
                        || notEntryPoints.contains(method.getName())) {
                    continue;
                }
                Object[] args = Arrays.stream(method.getParameterTypes()).map(type -> argument(type, tokens, manager))
                        .toArray();
                checked++;
                try {
                    method.invoke(model, args);
                    wrong.add(method + ": returned normally");
                } catch (InvocationTargetException e) {
                    Throwable cause = e.getCause();
                    if (!(cause instanceof LoupeException) || !cause.getMessage().contains("This model was closed")) {
                        wrong.add(method + ": " + cause);
                    }
                } catch (IllegalAccessException e) {
                    wrong.add(method + ": " + e);
                }
            }
        }
        assertThat(checked).as("public methods checked").isGreaterThan(60);
        assertThat(wrong).isEmpty();
    }

    @Test
    void aClosedModelsMessageSaysWhatToDo() {
        HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
        model.close();
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(new long[][] {{1, 2, 3}});
            assertThatThrownBy(() -> model.forward(tokens)).isInstanceOf(LoupeException.class)
                    .hasMessage("This model was closed: HookedTransformer.close() freed its weights; load it again"
                            + " (fromPretrained...) to run it.");
        }
    }

    @Test
    void aScalarWhereTokenIdsBelongIsReportedAsAScalar() {
        try (TinyGpt2 gpt2 = TinyGpt2.open()) {
            HookedTransformer model = gpt2.model();
            NDArray scalar = gpt2.manager().create(5L); // rank 0
            assertThat(scalar.getShape().dimension()).isZero();
            String expected = "The input is a scalar (rank 0, shape [], int64), but token ids must be int64 [batch, pos]"
                    + " (or [pos]); make one token a batch of one sequence of length 1, shape [1, 1]";
            assertThatThrownBy(() -> model.forward(scalar)).isInstanceOf(LoupeException.class).hasMessageStartingWith(expected);
            assertThatThrownBy(() -> model.runWithCache(scalar)).hasMessageStartingWith(expected);
            assertThatThrownBy(() -> model.loss(scalar)).hasMessageStartingWith(expected);
            assertThatThrownBy(() -> model.runWithHooks(scalar, HookSpec.forward("hook_embed", (x, p) -> null)))
                    .hasMessageStartingWith(expected);
            NDArray resid = model.forward(gpt2.tokens(), ForwardOptions.builder().stopAtLayer(1).build()).residual();
            assertThatThrownBy(() -> model.forward(resid, ForwardOptions.builder().startAtLayer(1).tokens(scalar)
                    .returnType(ReturnType.LOSS).build()))
                    .hasMessageStartingWith("The tokens is a scalar (rank 0, shape [], int64)");
            NDArray cube = gpt2.manager().create(new long[] {1, 2}, new Shape(1, 1, 2));
            assertThatThrownBy(() -> model.forward(cube))
                    .hasMessageStartingWith("The input must be int64 token ids [batch, pos] (or [pos]), got int64 of shape"
                            + " (1, 1, 2) (rank 3)");
            // One token as TransformerLens's to_str_tokens takes it; a batch of texts needs a rank.
            assertThatThrownBy(() -> model.toStrings(scalar)).isInstanceOf(LoupeException.class)
                    .hasMessageContaining("got a scalar (rank 0, shape [])");
        }
    }

    private static Object argument(Class<?> type, NDArray tokens, NDManager manager) {
        if (type == NDArray.class) {
            return tokens;
        } else if (type == NDManager.class) {
            return manager;
        } else if (type == String.class) {
            return "a";
        } else if (type == List.class) {
            return List.of();
        } else if (type == HookSpec.class) {
            return HookSpec.forward("hook_embed", (x, p) -> null);
        } else if (type == HookSpec[].class) {
            return new HookSpec[0];
        } else if (type == ForwardOptions.class) {
            return ForwardOptions.defaults();
        } else if (type == CacheOptions.class) {
            return CacheOptions.all();
        } else if (type == ProcessOptions.class) {
            return ProcessOptions.none();
        } else if (type == TextOptions.class) {
            return TextOptions.defaults();
        } else if (type == boolean.class) {
            return false;
        } else if (type == int.class) {
            return 0;
        } else if (type == long.class) {
            return 0L;
        } else if (type == float.class) {
            return 0f;
        } else if (type == double.class) {
            return 0d;
        } else if (type.isEnum()) {
            return type.getEnumConstants()[0];
        } else if (type.isArray()) {
            return Array.newInstance(type.getComponentType(), 0);
        }
        return null;
    }
}
