package dev.loupe.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import dev.loupe.hook.HookSpec;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenDisplay;
import dev.loupe.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a lens predicts at every layer and position of one prompt, and how that compares with the
 * model's output: the Python library's {@code PredictionTrajectory}, kept as plain arrays for
 * printing ({@link #toTable()}) and export ({@link #toJson()}, {@link #writeSafetensors(Path)}).
 *
 * <p>Rows are the lens at layers 0..n_layers-1, then the model's own output ({@code "output"}).
 * Probabilities are in [0, 1]; entropy and KL in nats.
 *
 * @param lensName "logit lens" or "tuned lens"
 * @param inputIds the prompt's token ids [pos]
 * @param inputTokens each token as text [pos]
 * @param layerLabels row labels: "0" … "n_layers-1", "output"
 * @param topTokens [row][pos][k] the k most probable next tokens, most probable first
 * @param topTokenStrings [row][pos][k] the same as text
 * @param topProbs [row][pos][k] their probabilities
 * @param entropy [row][pos] entropy of the prediction
 * @param klToFinal [row][pos] {@code KL(p_output ‖ p_row)}; 0 in the output row
 * @param target the token whose rank is tracked, or null
 * @param targetRank [row][pos] 1-based rank of {@code target} (1 = most probable), or null
 * @param targetProb [row][pos] probability of {@code target}, or null
 */
public record PredictionTrajectory(String lensName, long[] inputIds, List<String> inputTokens,
        List<String> layerLabels, long[][][] topTokens, List<List<List<String>>> topTokenStrings, float[][][] topProbs,
        float[][] entropy, float[][] klToFinal, Long target, int[][] targetRank, float[][] targetProb) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Runs {@code model} on one prompt, tokens [1, pos] (or [pos]), and reads it with {@code lens}.
     *
     * @param target a token id whose rank and probability to track, or null
     * @param topK how many top tokens to keep per cell
     * @param hooks hooks for the run (a patched or ablated run), or an empty list
     */
    public static PredictionTrajectory compute(Lens lens, HookedTransformer model, NDArray tokens, Long target,
            int topK, List<HookSpec> hooks) {
        long[] shape = tokens.getShape().getShape();
        if (!(shape.length == 1 || (shape.length == 2 && shape[0] == 1))) {
            throw new LoupeException("A prediction trajectory is for one prompt: tokens [1, pos] or [pos], got "
                    + tokens.getShape());
        }
        NDArray batch = shape.length == 1 ? tokens.expandDims(0) : tokens;
        try (LensInputs inputs = LensInputs.run(model, batch, null, lens.hook(), hooks)) {
            return fromInputs(lens, inputs, 0, batch.toLongArray(), model, target, topK);
        }
    }

    /**
     * Reads sequence {@code batchIndex} of a run the caller made.
     *
     * @param inputIds that sequence's token ids [pos]
     * @param model for token strings (its tokenizer, if it has one)
     */
    public static PredictionTrajectory fromInputs(Lens lens, LensInputs inputs, int batchIndex, long[] inputIds,
            HookedTransformer model, Long target, int topK) {
        int layers = lens.numLayers();
        int vocab = model.config().dVocabOut();
        int k = Math.max(1, Math.min(topK, vocab));
        if (target != null && (target < 0 || target >= vocab)) {
            throw new LoupeException("Target token " + target + " is outside the vocabulary (0.." + (vocab - 1) + ")");
        }
        int rows = layers + 1;
        int pos = inputIds.length;
        long[][][] top = new long[rows][pos][k];
        float[][][] probs = new float[rows][pos][k];
        float[][] entropy = new float[rows][pos];
        float[][] kl = new float[rows][pos];
        int[][] rank = target == null ? null : new int[rows][pos];
        float[][] targetProb = target == null ? null : new float[rows][pos];
        try (NDManager scratch = NDManager.newBaseManager()) {
            NDArray finalLogits = inputs.logits().get(scratch, new NDIndex("{}:{}", batchIndex, batchIndex + 1));
            for (int row = 0; row < rows; row++) {
                NDArray logits = row == layers ? finalLogits
                        : lens.forward(inputs.hidden(row).get(scratch, new NDIndex("{}:{}", batchIndex, batchIndex + 1)), row);
                float[] logProbs = logits.logSoftmax(-1).toFloatArray(); // [pos * vocab]
                float[] ent = LensStats.entropy(logits).toFloatArray();
                float[] div = LensStats.klDivergence(finalLogits, logits).toFloatArray();
                for (int p = 0; p < pos; p++) {
                    int base = p * vocab;
                    int[] best = topIndices(logProbs, base, vocab, k);
                    for (int i = 0; i < k; i++) {
                        top[row][p][i] = best[i];
                        probs[row][p][i] = (float) Math.exp(logProbs[base + best[i]]);
                    }
                    entropy[row][p] = ent[p];
                    kl[row][p] = row == layers ? 0f : div[p];
                    if (target != null) {
                        float t = logProbs[base + (int) (long) target];
                        int greater = 0;
                        for (int v = 0; v < vocab; v++) {
                            if (logProbs[base + v] > t) {
                                greater++;
                            }
                        }
                        rank[row][p] = greater + 1;
                        targetProb[row][p] = (float) Math.exp(t);
                    }
                }
            }
        }
        List<String> labels = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            labels.add(Integer.toString(layer));
        }
        labels.add("output");
        Tokenizer tokenizer = model.hasTokenizer() ? model.tokenizer() : null;
        List<List<List<String>>> topStrings = new ArrayList<>();
        for (long[][] row : top) {
            List<List<String>> rowStrings = new ArrayList<>();
            for (long[] cell : row) {
                rowStrings.add(List.copyOf(TokenDisplay.texts(tokenizer, cell)));
            }
            topStrings.add(rowStrings);
        }
        String name = lens instanceof TunedLens ? "tuned lens" : "logit lens";
        return new PredictionTrajectory(name, inputIds.clone(), List.copyOf(TokenDisplay.texts(tokenizer, inputIds)),
                List.copyOf(labels), top,
                topStrings, probs, entropy, kl, target, rank, targetProb);
    }

    /** A fixed-width table: per layer and position the top-1 token and its probability, then KL and (with a target) ranks. */
    public String toTable() {
        StringBuilder out = new StringBuilder();
        int pos = inputIds.length;
        int width = 14;
        out.append(capitalised(lensName)).append(": top-1 prediction and its probability, per layer (rows) and"
                + " input position (columns)\n");
        header(out, width);
        for (int row = 0; row < layerLabels.size(); row++) {
            out.append(String.format("%-7s", layerLabels.get(row)));
            for (int p = 0; p < pos; p++) {
                String cell = cell(topTokenStrings.get(row).get(p).get(0), 8) + " "
                        + String.format(Locale.ROOT, "%.1f%%", 100 * topProbs[row][p][0]);
                out.append(" | ").append(pad(cell, width));
            }
            out.append('\n');
        }
        out.append("\nKL(output ‖ layer) in nats\n");
        numbers(out, width, klToFinal, "%.3f");
        if (target != null) {
            out.append("\nRank of the target token ").append(target).append(" (1 = top prediction)\n");
            float[][] ranks = new float[targetRank.length][];
            for (int row = 0; row < targetRank.length; row++) {
                ranks[row] = new float[pos];
                for (int p = 0; p < pos; p++) {
                    ranks[row][p] = targetRank[row][p];
                }
            }
            numbers(out, width, ranks, "%.0f");
        }
        return out.toString().replaceAll("[ ]+\n", "\n");
    }

    /** Everything as JSON: {@code lens}, {@code layers}, {@code input_ids}, {@code input_tokens}, {@code top_tokens}, … */
    public ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("lens", lensName);
        ArrayNode labels = root.putArray("layers");
        layerLabels.forEach(labels::add);
        ArrayNode ids = root.putArray("input_ids");
        for (long id : inputIds) {
            ids.add(id);
        }
        ArrayNode tokens = root.putArray("input_tokens");
        inputTokens.forEach(tokens::add);
        root.set("top_tokens", JSON.valueToTree(topTokens));
        root.set("top_token_strings", JSON.valueToTree(topTokenStrings));
        root.set("top_probs", JSON.valueToTree(topProbs));
        root.set("entropy", JSON.valueToTree(entropy));
        root.set("kl_to_final", JSON.valueToTree(klToFinal));
        if (target != null) {
            root.put("target", target);
            root.set("target_rank", JSON.valueToTree(targetRank));
            root.set("target_prob", JSON.valueToTree(targetProb));
        }
        return root;
    }

    /** Writes {@link #toJson()} to {@code file}. */
    public void writeJson(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path temp = parent.resolve("." + file.getFileName() + ".tmp");
            Files.writeString(temp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson()),
                    StandardCharsets.UTF_8);
            Files.move(temp, file.toAbsolutePath(), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new LoupeException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The arrays as tensors: {@code input_ids} int64 [pos], {@code top_tokens} int64 [row, pos, k],
     * {@code top_probs}, {@code entropy}, {@code kl_to_final} float32, and with a target
     * {@code target_rank} int64 and {@code target_prob} float32 [row, pos].
     */
    public Map<String, NDArray> toTensors(NDManager manager) {
        int rows = layerLabels.size();
        int pos = inputIds.length;
        int k = topTokens[0][0].length;
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("input_ids", manager.create(inputIds));
        long[] flatTop = new long[rows * pos * k];
        float[] flatProbs = new float[rows * pos * k];
        for (int row = 0; row < rows; row++) {
            for (int p = 0; p < pos; p++) {
                System.arraycopy(topTokens[row][p], 0, flatTop, (row * pos + p) * k, k);
                System.arraycopy(topProbs[row][p], 0, flatProbs, (row * pos + p) * k, k);
            }
        }
        tensors.put("top_tokens", manager.create(flatTop, new Shape(rows, pos, k)));
        tensors.put("top_probs", manager.create(flatProbs, new Shape(rows, pos, k)));
        tensors.put("entropy", manager.create(entropy));
        tensors.put("kl_to_final", manager.create(klToFinal));
        if (target != null) {
            long[][] ranks = new long[rows][pos];
            for (int row = 0; row < rows; row++) {
                for (int p = 0; p < pos; p++) {
                    ranks[row][p] = targetRank[row][p];
                }
            }
            tensors.put("target_rank", manager.create(ranks));
            tensors.put("target_prob", manager.create(targetProb));
        }
        return tensors;
    }

    /**
     * Writes {@link #toTensors} as safetensors; the metadata holds {@code lens}, {@code layers} and
     * {@code input_tokens} (JSON lists) and {@code target}.
     */
    public void writeSafetensors(Path file) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("lens", lensName);
            metadata.put("layers", JSON.valueToTree(layerLabels).toString());
            metadata.put("input_tokens", JSON.valueToTree(inputTokens).toString());
            if (target != null) {
                metadata.put("target", Long.toString(target));
            }
            SafetensorsWriter.write(file, toTensors(manager), metadata);
        }
    }

    /** The k largest of {@code values[base, base + n)}, largest first; ties go to the lower index. */
    static int[] topIndices(float[] values, int base, int n, int k) {
        int[] best = new int[k];
        int filled = 0;
        for (int i = 0; i < n; i++) {
            float v = values[base + i];
            if (filled == k && v <= values[base + best[k - 1]]) {
                continue;
            }
            int at = filled < k ? filled++ : k - 1;
            while (at > 0 && values[base + best[at - 1]] < v) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = i;
        }
        return best;
    }

    private void header(StringBuilder out, int width) {
        out.append(String.format("%-7s", "layer"));
        for (String token : inputTokens) {
            out.append(" | ").append(pad(cell(token, width), width));
        }
        out.append('\n');
    }

    private void numbers(StringBuilder out, int width, float[][] values, String format) {
        header(out, width);
        for (int row = 0; row < values.length; row++) {
            out.append(String.format("%-7s", layerLabels.get(row)));
            for (float v : values[row]) {
                out.append(" | ").append(pad(String.format(Locale.ROOT, format, v), width));
            }
            out.append('\n');
        }
    }

    /** A token for a table cell: on one line, at most {@code max} characters. */
    private static String cell(String token, int max) {
        return TokenDisplay.shorten(TokenDisplay.visible(token, false), max);
    }

    private static String pad(String s, int width) {
        int length = s.codePointCount(0, s.length());
        return length >= width ? s : s + " ".repeat(width - length);
    }

    private static String capitalised(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
