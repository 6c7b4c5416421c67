package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code loupe demo} on the shipped models: the induction table, offline, from the repository alone. */
class InductionDemoTest extends RepositoryHomeTest {
    @Test
    void theDefaultDemoShowsTheInductionCircuit() {
        CliTestSupport.Result result = run("demo");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.err()).isEmpty();
        String out = result.out();
        assertThat(out).contains("Model      induction-2l (", "models/induction-2l)",
                "Shape      2 layers, d_model 64, 4 heads of d_head 16, attention only, vocabulary 300, context 64",
                "Induction: BOS, 31 random tokens, then the same 31 again (63 tokens, seed 2024)",
                "chance is ln(299) = 5.7004", "Sequence   #0 #", "Head scores", "Logit lens")
                .doesNotContain("RANDOM", "Prompt ", "Top 5 next-token");
        double first = number(out, "Loss on the first half +([0-9.]+) nats");
        double repeated = number(out, "Loss on the repeated half +([0-9.]+) nats");
        assertThat(repeated).isLessThan(0.1 * first);

        // One row per head: layer, head, induction score, previous-token score.
        Matcher rows = Pattern.compile("(?m)^ +([01]) +([0-3]) +([0-9.]+) +([0-9.]+)$").matcher(out);
        float bestInduction = 0;
        float bestPrevious = 0;
        int count = 0;
        while (rows.find()) {
            count++;
            if (rows.group(1).equals("1")) {
                bestInduction = Math.max(bestInduction, Float.parseFloat(rows.group(3)));
            } else {
                bestPrevious = Math.max(bestPrevious, Float.parseFloat(rows.group(4)));
            }
        }
        assertThat(count).isEqualTo(8);
        assertThat(bestInduction).as("best layer-1 induction score").isGreaterThan(0.5f);
        assertThat(bestPrevious).as("best layer-0 previous-token score").isGreaterThan(0.5f);

        // The logit lens: a row per layer and the output, a column per position; tokens are ids (no tokenizer).
        List<String> lens = out.lines().filter(l -> l.matches(" +[0-2]  blocks\\.\\d\\.hook_resid_(pre|post) .*")).toList();
        assertThat(lens).hasSize(3);
        // At the output, the first-half position (random next token) gets little, the repeated ones most.
        assertThat(lens.get(2)).contains("blocks.1.hook_resid_post")
                .containsPattern("top #\\d+  p 0\\.0\\d+ +top #\\d+  p 0\\.[5-9]\\d+ +top #\\d+  p 0\\.[5-9]\\d+$");
        assertThat(out).contains("(first half, next #", "(repeated, next #");
    }

    @Test
    void theOneLayerModelShowsNoInduction() {
        CliTestSupport.Result result = run("demo", "--model", "../models/attn-only-1l");

        assertThat(result.exitCode()).as(result.err()).isZero();
        String out = result.out();
        assertThat(out).contains("Model      attn-only-1l", "1 layers, d_model 64");
        double first = number(out, "Loss on the first half +([0-9.]+) nats");
        double repeated = number(out, "Loss on the repeated half +([0-9.]+) nats");
        assertThat(repeated).isGreaterThan(0.3 * first);
    }

    private static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as("%s in%n%s", regex, text).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
