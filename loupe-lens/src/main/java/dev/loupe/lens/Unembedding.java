package dev.loupe.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.model.HookedTransformer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A model's read-out of the residual stream: its final norm (LayerNorm or RMSNorm, as the model has
 * it) then {@code W_U} and {@code b_U}. Every lens ends with it; on the final residual it gives the
 * model's own logits.
 *
 * <p>Ops start from the activation, so results belong to the manager of the residual passed in,
 * and nothing is done in place: it may run under autograd.
 */
public final class Unembedding {
    private final HookedTransformer model;
    private final NDArray wU; // [d_model, d_vocab_out]
    private String fingerprint;

    private Unembedding(HookedTransformer model) {
        this.model = model;
        this.wU = model.stateDict().get("unembed.W_U");
        if (wU == null) {
            throw new LoupeException("The model has no unembed.W_U; a lens needs the model's unembedding");
        }
        if (wU.getDataType() != DataType.FLOAT32) {
            throw new LoupeException("Lenses need the model's weights in float32, but unembed.W_U is "
                    + wU.getDataType() + "; load the model with WeightDtype.FLOAT32 (the default)");
        }
    }

    /** The unembedding of {@code model} (which must stay open while this is used). */
    public static Unembedding of(HookedTransformer model) {
        return new Unembedding(model);
    }

    /** h [..., d_model] → logits [..., d_vocab_out]: final norm, then {@code W_U} and {@code b_U}. */
    public NDArray forward(NDArray h) {
        return model.unembed(model.applyFinalNorm(h));
    }

    /** The model the read-out belongs to. */
    public HookedTransformer model() {
        return model;
    }

    /** The model's config. */
    public TransformerConfig config() {
        return model.config();
    }

    /** The basis of the residual stream it reads (see {@link LensBasis}). */
    public LensBasis basis() {
        return LensBasis.of(model.config());
    }

    /**
     * A stable fingerprint of the unembedding: SHA-256 (hex) of Hugging Face's {@code lm_head.weight}
     * layout of {@code W_U}, [d_vocab, d_model] (TransformerLens's {@code W_U} transposed), as float32
     * little-endian bytes. It replaces the Python library's hash of numpy's printed summary, which
     * cannot be reproduced outside numpy.
     */
    public synchronized String fingerprint() {
        if (fingerprint == null) {
            float[] values;
            try (NDManager scratch = NDManager.newBaseManager()) { // not the weights' manager
                values = wU.get(scratch, new NDIndex()).transpose().duplicate().toFloatArray(); // [d_vocab, d_model]
            }
            ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(values);
            try {
                fingerprint = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array()));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is missing from this JVM", e);
            }
        }
        return fingerprint;
    }
}
