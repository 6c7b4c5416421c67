package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import dev.loupe.LoupeException;
import dev.loupe.config.ActivationFunctionType;
import dev.loupe.numeric.Autograd;
import dev.loupe.numeric.Scalars;

/**
 * The MLP non-linearities, computed exactly as Hugging Face and TransformerLens compute them.
 * Each returns a new array and never changes its input (the input is a hooked activation).
 */
public enum ActivationFunction {
    /** {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}, GPT-2's. */
    GELU_NEW {
        @Override
        public NDArray apply(NDArray x) {
            return tanhGelu(x);
        }
    },
    /** PyTorch's {@code gelu(approximate="tanh")}: the same formula as {@code gelu_new}. */
    GELU_PYTORCH_TANH {
        @Override
        public NDArray apply(NDArray x) {
            return tanhGelu(x);
        }
    },
    /** {@code 0.5·x·(1 + tanh(0.7978845608·x·(1 + 0.044715·x²)))}. */
    GELU_FAST {
        @Override
        public NDArray apply(NDArray x) {
            NDArray inner = Scalars.mul(Scalars.mul(x.mul(x), 0.044715f).add(1f).mul(x), 0.7978845608f);
            return Scalars.mul(inner.tanh().add(1f).mul(x), 0.5f);
        }
    },
    /** The exact, erf-based GELU. */
    GELU {
        @Override
        public NDArray apply(NDArray x) {
            return Activation.gelu(x);
        }
    },
    RELU {
        @Override
        public NDArray apply(NDArray x) {
            return Activation.relu(x);
        }
    },
    SILU {
        @Override
        public NDArray apply(NDArray x) {
            // Out of autograd the product goes into the sigmoid's array (the same values: x·σ(x) = σ(x)·x).
            return Autograd.isRecording() ? x.mul(Activation.sigmoid(x)) : Activation.sigmoid(x).muli(x);
        }
    };

    private static final float TWICE_SQRT_2_OVER_PI = (float) (2 * Math.sqrt(2.0 / Math.PI));
    private static final Scalars.Constant CUBIC = Scalars.constant(TWICE_SQRT_2_OVER_PI * 0.044715f);
    private static final Scalars.Constant LINEAR = Scalars.constant(TWICE_SQRT_2_OVER_PI);

    /** Applies the function; the result is a new array. */
    public abstract NDArray apply(NDArray x);

    /** The function of the config's {@code act_fn}. */
    public static ActivationFunction of(ActivationFunctionType actFn) {
        if (actFn == null) {
            throw new LoupeException("This model has no act_fn (is it attention-only?)");
        }
        return switch (actFn) {
            case GELU_NEW -> GELU_NEW;
            case GELU_PYTORCH_TANH -> GELU_PYTORCH_TANH;
            case GELU_FAST -> GELU_FAST;
            case GELU -> GELU;
            case RELU -> RELU;
            case SILU -> SILU;
        };
    }

    private static NDArray tanhGelu(NDArray x) {
        // 0.5·x·(1 + tanh(u)) = x·σ(2u), and 2u = x·(c + c·0.044715·x²) with c = 2·√(2/π): the same function
        // (equal to float rounding), in six passes over the largest activation, [batch, pos, d_mlp], instead
        // of ten, and libtorch's sigmoid is vectorised where its tanh is not (8× slower on [1024, 3072]).
        if (Autograd.isRecording()) {
            // The same operations in the same order, so that runs with and without gradients agree to the
            // bit (attribution patching subtracts one from the other); out of place, because autograd saves
            // these tensors, and Scalars because it saves the scalar factors too.
            NDArray twiceInner = Scalars.mul(x.mul(x), TWICE_SQRT_2_OVER_PI * 0.044715f).add(TWICE_SQRT_2_OVER_PI).mul(x);
            return Activation.sigmoid(twiceInner).mul(x);
        }
        // Two temporaries; in place is safe only when autograd is not saving these tensors for a backward pass.
        NDArray twiceInner = x.mul(x);
        // The factors are kept scalars: the same float32 0-dim operands as above, without making them per call.
        twiceInner.muli(CUBIC.like(x)).addi(LINEAR.like(x)).muli(x);
        NDArray out = Activation.sigmoid(twiceInner);
        twiceInner.close();
        return out.muli(x);
    }
}
