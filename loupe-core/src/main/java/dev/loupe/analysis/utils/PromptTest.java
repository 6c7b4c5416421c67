package dev.loupe.analysis.utils;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TextOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * TransformerLens's {@code test_prompt}: how a model ranks the answer to a prompt, token by token,
 * and what it would rather have said. Instead of printing, it returns a {@link Result} whose
 * {@link Result#format()} is the text TransformerLens prints (without rich's bold markup).
 *
 * <pre>{@code
 * PromptTest.Result r = PromptTest.testPrompt(model, "Why did the elephant cross the", List.of("road"), true, null, 10);
 * System.out.println(r.format());
 * int rank = r.positions().get(0).answers().get(0).rank();
 * }</pre>
 */
public final class PromptTest {
    private PromptTest() {}

    /** The answer's token at one answer position, in the model's distribution there. */
    public record AnswerToken(String token, long id, int rank, float logit, float prob) {}

    /** One of the model's top predictions at an answer position (of the first answer's row). */
    public record TopToken(String token, long id, float logit, float prob) {}

    /** One answer position: each answer's token there, and the top-k of the first answer's row. */
    public record Position(List<AnswerToken> answers, List<TopToken> top) {}

    /**
     * Everything {@code test_prompt} prints.
     *
     * @param promptStrTokens the prompt as token strings (BOS included if prepended)
     * @param answerStrTokens each answer as token strings (after the optional leading space)
     * @param positions one per answer token scored: all of a single answer's tokens, or only the
     *     first token of each of several answers
     */
    public record Result(List<String> promptStrTokens, List<List<String>> answerStrTokens, List<Position> positions) {
        /** Whether several answers were compared (then only their first tokens). */
        public boolean multipleAnswers() {
            return answerStrTokens.size() > 1;
        }

        /** The printed report, line for line as TransformerLens prints it. */
        public String format() {
            StringBuilder out = new StringBuilder();
            out.append("Tokenized prompt: ").append(pyList(promptStrTokens)).append('\n');
            if (multipleAnswers()) {
                List<String> reprs = answerStrTokens.stream().map(PromptTest::pyList).toList();
                out.append("Tokenized answers: [").append(String.join(", ", reprs)).append("]\n");
            } else {
                out.append("Tokenized answer: ").append(pyList(answerStrTokens.get(0))).append('\n');
            }
            for (Position p : positions) {
                out.append("Performance on answer token").append(multipleAnswers() ? "s" : "").append(":\n");
                for (AnswerToken a : p.answers()) {
                    out.append(String.format(Locale.ROOT, "Rank: %-8d Logit: %5.2f Prob: %s Token: |%s|\n", a.rank(),
                            a.logit(), percent(a.prob()), a.token()));
                }
                for (int i = 0; i < p.top().size(); i++) {
                    TopToken t = p.top().get(i);
                    out.append(String.format(Locale.ROOT, "Top %dth token. Logit: %5.2f Prob: %s Token: |%s|\n", i,
                            t.logit(), percent(t.prob()), t.token()));
                }
            }
            out.append("Ranks of the answer tokens: ");
            if (multipleAnswers()) {
                List<String> perPosition = positions.stream().map(p -> "[" + String.join(", ",
                        p.answers().stream().map(PromptTest::tuple).toList()) + "]").toList();
                out.append("[").append(String.join(", ", perPosition)).append("]");
            } else {
                out.append("[").append(String.join(", ", positions.stream().map(p -> tuple(p.answers().get(0)))
                        .toList())).append("]");
            }
            return out.append('\n').toString();
        }
    }

    /** {@code testPrompt} with one answer, TransformerLens's defaults otherwise (space, model's BOS, top 10). */
    public static Result testPrompt(HookedTransformer model, String prompt, String answer) {
        return testPrompt(model, prompt, List.of(answer), true, null, 10);
    }

    /**
     * Runs the prompt followed by each answer and scores the answer's tokens.
     *
     * @param answers one answer (all its tokens are scored) or several (only their first tokens,
     *     compared at the same position)
     * @param prependSpaceToAnswer prepend a space to each answer that does not start with one
     * @param prependBos overrides the model's default for the prompt; null to keep it
     * @param topK how many of the model's top predictions to list per position
     */
    public static Result testPrompt(HookedTransformer model, String prompt, List<String> answers,
            boolean prependSpaceToAnswer, Boolean prependBos, int topK) {
        if (answers.isEmpty()) {
            throw new LoupeException("testPrompt needs at least one answer");
        }
        List<String> spaced = answers.stream()
                .map(a -> prependSpaceToAnswer && !a.startsWith(" ") ? " " + a : a).toList();
        boolean multiple = spaced.size() > 1;
        TextOptions promptOptions = prependBos == null ? TextOptions.defaults()
                : TextOptions.defaults().withPrependBos(prependBos);
        long[] promptIds = model.textEncoder().encode(prompt, promptOptions);
        List<long[]> answerIds = new ArrayList<>();
        for (String a : spaced) {
            long[] ids = model.textEncoder().encode(a, TextOptions.defaults().withPrependBos(false));
            if (ids.length == 0) {
                throw new LoupeException("The answer '" + a + "' has no tokens");
            }
            // With several answers only the next token is compared, so they all line up.
            answerIds.add(multiple ? Arrays.copyOf(ids, 1) : ids);
        }
        int promptLength = promptIds.length;
        int answerLength = answerIds.get(0).length;
        int width = promptLength + answerLength;
        long[] flat = new long[spaced.size() * width];
        for (int i = 0; i < spaced.size(); i++) {
            System.arraycopy(promptIds, 0, flat, i * width, promptLength);
            System.arraycopy(answerIds.get(i), 0, flat, i * width + promptLength, answerLength);
        }
        List<List<String>> answerStr = new ArrayList<>();
        for (String a : spaced) {
            answerStr.add(model.toStrTokens(a, TextOptions.defaults().withPrependBos(false)));
        }
        List<String> promptStr = model.toStrTokens(promptIds);
        int vocab = model.config().dVocabOut();
        List<Position> positions = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray logits = model.forward(manager.create(flat, new Shape(spaced.size(), width))); // [n, width, vocab]
            float[] all = logits.toFloatArray();
            for (int index = promptLength; index < width; index++) {
                List<AnswerToken> scored = new ArrayList<>();
                List<TopToken> top = new ArrayList<>();
                for (int i = 0; i < spaced.size(); i++) {
                    // Offset by one: the logits at index − 1 predict the token at index.
                    float[] row = Arrays.copyOfRange(all, (i * width + index - 1) * vocab,
                            (i * width + index) * vocab);
                    double[] probs = softmax(row);
                    int token = (int) flat[i * width + index];
                    scored.add(new AnswerToken(answerStr.get(i).get(index - promptLength), token,
                            rank(probs, token), row[token], (float) probs[token]));
                    if (i == 0) {
                        for (int t : topIndices(probs, topK)) {
                            top.add(new TopToken(model.toString(manager.create(new long[] {t})), t, row[t],
                                    (float) probs[t]));
                        }
                    }
                }
                positions.add(new Position(scored, top));
            }
        }
        return new Result(promptStr, answerStr, positions);
    }

    private static double[] softmax(float[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double[] p = new double[row.length];
        double total = 0;
        for (int v = 0; v < row.length; v++) {
            p[v] = Math.exp(row[v] - max);
            total += p[v];
        }
        for (int v = 0; v < row.length; v++) {
            p[v] /= total;
        }
        return p;
    }

    /** The token's place in a descending stable sort: strictly larger ones, plus equal ones before it. */
    private static int rank(double[] probs, int token) {
        int rank = 0;
        for (int v = 0; v < probs.length; v++) {
            if (probs[v] > probs[token] || (probs[v] == probs[token] && v < token)) {
                rank++;
            }
        }
        return rank;
    }

    private static int[] topIndices(double[] probs, int k) {
        Integer[] order = new Integer[probs.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Double.compare(probs[b], probs[a]));
        int n = Math.min(k, probs.length);
        int[] top = new int[n];
        for (int i = 0; i < n; i++) {
            top[i] = order[i];
        }
        return top;
    }

    /** Python's {@code f"{p:6.2%}"}. */
    private static String percent(float p) {
        return String.format(Locale.ROOT, "%6s", String.format(Locale.ROOT, "%.2f%%", p * 100.0));
    }

    private static String tuple(AnswerToken a) {
        return "(" + pyRepr(a.token()) + ", " + a.rank() + ")";
    }

    static String pyList(List<String> strings) {
        return "[" + String.join(", ", strings.stream().map(PromptTest::pyRepr).toList()) + "]";
    }

    /** Python's {@code repr} of a str, for the characters tokens usually hold. */
    static String pyRepr(String s) {
        char quote = s.contains("'") && !s.contains("\"") ? '"' : '\'';
        StringBuilder out = new StringBuilder().append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c == quote) {
                        out.append('\\');
                    }
                    out.append(c);
                }
            }
        }
        return out.append(quote).toString();
    }
}
