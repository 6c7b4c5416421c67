package dev.loupe.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import java.util.Arrays;

/**
 * The attention pattern a kind of head is expected to show on a sequence: a lower-triangular
 * [pos, pos] matrix, row = query position, column = key position (TransformerLens's
 * {@code detection_pattern}). The three named kinds are built from the tokens, as TransformerLens's
 * {@code get_*_detection_pattern} functions build them; a custom one is fixed.
 */
public final class DetectionPattern {
    /** Each position attends to the one before it: ones just below the diagonal. */
    public static final DetectionPattern PREVIOUS_TOKEN = new DetectionPattern("previous_token_head", null);
    /** Each position attends to earlier occurrences of its own token (the diagonal itself excluded). */
    public static final DetectionPattern DUPLICATE_TOKEN = new DetectionPattern("duplicate_token_head", null);
    /**
     * Each position attends to the token just after an earlier occurrence of its own token: the
     * duplicate-token pattern moved one column right.
     */
    public static final DetectionPattern INDUCTION = new DetectionPattern("induction_head", null);

    private final String name;
    private final float[][] fixed;

    private DetectionPattern(String name, float[][] fixed) {
        this.name = name;
        this.fixed = fixed;
    }

    /** A user's own pattern [pos, pos], copied; it must match the sequence's length when used. */
    public static DetectionPattern custom(float[][] pattern) {
        float[][] copy = new float[pattern.length][];
        for (int i = 0; i < pattern.length; i++) {
            copy[i] = pattern[i].clone();
        }
        return new DetectionPattern("custom", copy);
    }

    /** A user's own pattern from a [pos, pos] array, copied. */
    public static DetectionPattern custom(NDArray pattern) {
        if (pattern.getShape().dimension() != 2) {
            throw new LoupeException("A detection pattern must be [pos, pos], got " + pattern.getShape());
        }
        int rows = (int) pattern.getShape().get(0);
        int cols = (int) pattern.getShape().get(1);
        float[] flat = pattern.toType(DataType.FLOAT32, false).toFloatArray();
        float[][] m = new float[rows][cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(flat, i * cols, m[i], 0, cols);
        }
        return new DetectionPattern("custom", m);
    }

    /** Whether the pattern depends on the tokens (one of the three named kinds). */
    public boolean isNamed() {
        return fixed == null;
    }

    /** TransformerLens's name of the kind ({@code previous_token_head}, …), or {@code custom}. */
    public String name() {
        return name;
    }

    /** The pattern [pos, pos] for the sequence {@code tokens} [pos] (a fresh copy). */
    public float[][] build(long[] tokens) {
        return switch (name) {
            case "previous_token_head" -> previousToken(tokens.length);
            case "duplicate_token_head" -> duplicateToken(tokens);
            case "induction_head" -> induction(tokens);
            default -> custom(fixed).fixed;
        };
    }

    /** Ones at (i, i − 1) for i ≥ 1: [pos, pos]. */
    public static float[][] previousToken(int pos) {
        float[][] m = new float[pos][pos];
        for (int i = 1; i < pos; i++) {
            m[i][i - 1] = 1f;
        }
        return m;
    }

    /** Ones at (i, j) for j &lt; i where tokens[i] == tokens[j]: [pos, pos]. */
    public static float[][] duplicateToken(long[] tokens) {
        int pos = tokens.length;
        float[][] m = new float[pos][pos];
        for (int i = 0; i < pos; i++) {
            // Strictly below the diagonal: a token always equals itself, which says nothing.
            for (int j = 0; j < i; j++) {
                if (tokens[i] == tokens[j]) {
                    m[i][j] = 1f;
                }
            }
        }
        return m;
    }

    /**
     * The duplicate-token pattern moved one column right, column 0 left empty: ones at (i, j + 1)
     * for j + 1 ≤ i where tokens[i] == tokens[j], j &lt; i. TransformerLens rolls and then keeps
     * the lower triangle, so (i, i) can be set when tokens[i − 1] == tokens[i]; so can it here.
     */
    public static float[][] induction(long[] tokens) {
        float[][] dup = duplicateToken(tokens);
        int pos = tokens.length;
        float[][] m = new float[pos][pos];
        for (int i = 0; i < pos; i++) {
            for (int j = 1; j <= i; j++) {
                m[i][j] = dup[i][j - 1];
            }
        }
        return m;
    }

    @Override
    public String toString() {
        return isNamed() ? name : "custom" + Arrays.deepToString(fixed);
    }
}
