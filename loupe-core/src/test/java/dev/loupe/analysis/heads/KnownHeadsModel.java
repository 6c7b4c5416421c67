package dev.loupe.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.ActivationFunctionType;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.model.HookedTransformer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A two-layer attention-only model with no normalization whose heads are known by construction, so
 * that the detector can be checked against ground truth rather than against itself.
 *
 * <p>The residual stream [d_model = 52] is split into four one-hot subspaces: dims 0–11 hold the
 * current token, 12–27 the position, 28–39 the previous token (written by L0H0), 40–51 the token
 * L1H0 predicts. With one-hot
 * embeddings every QK score is an exact product of indicator functions, scaled by {@link #C} so that
 * softmax is essentially hard.
 * <ul>
 *   <li>L0H0: previous-token head. Query at position i matches key at position i − 1; its OV copies
 *       the key's token into the previous-token subspace.
 *   <li>L0H1: duplicate-token head. Query token t matches key token t, and a −C term on the same
 *       position cancels the match with itself. Its OV is zero, so it writes nothing.
 *   <li>L1H0: induction head. Query token t matches keys whose previous-token subspace holds t
 *       (K-composition with L0H0). Its OV copies the attended token, ×{@link #LOGIT}, into the
 *       output subspace, which is all the unembedding reads: the model predicts by induction.
 *   <li>L1H1: all zero, so it attends uniformly.
 * </ul>
 */
public final class KnownHeadsModel {
    public static final int VOCAB = 12;
    public static final int CTX = 16;
    /** Offset of the subspace L1H0 writes the predicted token into, which the unembedding reads. */
    static final int OUT = VOCAB + CTX + VOCAB;
    static final int D_MODEL = OUT + VOCAB;
    static final int D_HEAD = VOCAB + CTX;
    /** Large enough that after the 1/√d_head scale the wrong keys get weight ≈ e^-19. */
    static final float C = 100f;
    /** The logit L1H0 gives the token it copies. */
    static final float LOGIT = 10f;

    private KnownHeadsModel() {}

    /** A new model (no tokenizer); the caller closes it. */
    public static HookedTransformer build() {
        TransformerConfig cfg = TransformerConfig.builder().nLayers(2).dModel(D_MODEL).nCtx(CTX).dHead(D_HEAD)
                .nHeads(2).dMlp(4).dVocab(VOCAB).actFn(ActivationFunctionType.GELU_NEW)
                .normalizationType(NormalizationType.NONE).attnOnly(true).build();
        NDManager manager = NDManager.newBaseManager();
        Map<String, NDArray> sd = new LinkedHashMap<>();
        float[][] wE = new float[VOCAB][D_MODEL];
        for (int t = 0; t < VOCAB; t++) {
            wE[t][t] = 1f;
        }
        float[][] wPos = new float[CTX][D_MODEL];
        for (int p = 0; p < CTX; p++) {
            wPos[p][VOCAB + p] = 1f;
        }
        sd.put("embed.W_E", create(manager, wE));
        sd.put("pos_embed.W_pos", create(manager, wPos));

        // [layer][head][d_model][d_head] and [layer][head][d_head][d_model]
        float[][][][] wQ = new float[2][2][D_MODEL][D_HEAD];
        float[][][][] wK = new float[2][2][D_MODEL][D_HEAD];
        float[][][][] wV = new float[2][2][D_MODEL][D_HEAD];
        float[][][][] wO = new float[2][2][D_HEAD][D_MODEL];
        // L0H0: query position i → C·u_i, key position j → u_{j+1}: a score of C exactly when j = i − 1.
        for (int p = 0; p < CTX; p++) {
            wQ[0][0][VOCAB + p][p] = C;
            if (p + 1 < CTX) {
                wK[0][0][VOCAB + p][p + 1] = 1f;
            }
        }
        // ... and copy the attended token into the previous-token subspace.
        for (int t = 0; t < VOCAB; t++) {
            wV[0][0][t][t] = 1f;
            wO[0][0][t][VOCAB + CTX + t] = 1f;
        }
        // L0H1: +C for equal tokens, −C for the same position, so only earlier duplicates score C.
        for (int t = 0; t < VOCAB; t++) {
            wQ[0][1][t][t] = C;
            wK[0][1][t][t] = 1f;
        }
        for (int p = 0; p < CTX; p++) {
            wQ[0][1][VOCAB + p][VOCAB + p] = -C;
            wK[0][1][VOCAB + p][VOCAB + p] = 1f;
        }
        // L1H0: the query's token against the key's previous token.
        for (int t = 0; t < VOCAB; t++) {
            wQ[1][0][t][t] = C;
            wK[1][0][VOCAB + CTX + t][t] = 1f;
        }
        for (int t = 0; t < VOCAB; t++) {
            wV[1][0][t][t] = 1f;
            wO[1][0][t][OUT + t] = LOGIT;
        }
        for (int l = 0; l < 2; l++) {
            sd.put(ActName.block(l, "attn.W_Q"), create(manager, wQ[l]));
            sd.put(ActName.block(l, "attn.W_K"), create(manager, wK[l]));
            sd.put(ActName.block(l, "attn.W_V"), create(manager, wV[l]));
            sd.put(ActName.block(l, "attn.W_O"), create(manager, wO[l]));
            sd.put(ActName.block(l, "attn.b_Q"), manager.zeros(new Shape(2, D_HEAD)));
            sd.put(ActName.block(l, "attn.b_K"), manager.zeros(new Shape(2, D_HEAD)));
            sd.put(ActName.block(l, "attn.b_V"), manager.zeros(new Shape(2, D_HEAD)));
            sd.put(ActName.block(l, "attn.b_O"), manager.zeros(new Shape(D_MODEL)));
        }
        // Read only the induction head's output, so that the logits are its prediction.
        float[][] wU = new float[D_MODEL][VOCAB];
        for (int t = 0; t < VOCAB; t++) {
            wU[OUT + t][t] = 1f;
        }
        sd.put("unembed.W_U", create(manager, wU));
        sd.put("unembed.b_U", manager.zeros(new Shape(VOCAB)));
        return new HookedTransformer(cfg, sd, manager);
    }

    private static NDArray create(NDManager manager, float[][] m) {
        float[] flat = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) {
            System.arraycopy(m[i], 0, flat, i * m[0].length, m[0].length);
        }
        return manager.create(flat, new Shape(m.length, m[0].length));
    }

    private static NDArray create(NDManager manager, float[][][] m) {
        int a = m.length;
        int b = m[0].length;
        int c = m[0][0].length;
        float[] flat = new float[a * b * c];
        for (int i = 0; i < a; i++) {
            for (int j = 0; j < b; j++) {
                System.arraycopy(m[i][j], 0, flat, (i * b + j) * c, c);
            }
        }
        return manager.create(flat, new Shape(a, b, c));
    }
}
