package dev.loupe.cli.tutorial;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How a tutorial's printed output is held against its page. */
class OutputComparerTest {
    private static final String PAGE = """
            Loss on the repeated half  0.4640 nats
              L1H3   0.727   shape (1, 4, 63, 63)
            """;

    @Test
    void equalTextMatchesAndSpacesMayRealign() {
        assertThat(OutputComparer.difference(PAGE, "Loss on the repeated half 0.4640 nats\nL1H3 0.727   shape (1, 4, 63, 63)\n\n",
                1e-3)).isEmpty();
    }

    @Test
    void decimalsMayDifferWithinTheToleranceOnly() {
        assertThat(OutputComparer.difference(PAGE, PAGE.replace("0.4640", "0.4644"), 1e-3)).isEmpty();
        assertThat(OutputComparer.difference(PAGE, PAGE.replace("0.4640", "0.4652"), 1e-3)).get().asString()
                .contains("line 1", "0.4640 was printed as 0.4652");
        assertThat(OutputComparer.difference(PAGE, PAGE.replace("0.727", "0.737"), 1e-3)).get().asString()
                .contains("line 2", "0.727 was printed as 0.737");
    }

    /** What the check of a page does when someone edits a number in it: the edited page no longer matches the run. */
    @Test
    void aChangedNumberInThePageFails() {
        String printed = PAGE;
        assertThat(OutputComparer.difference(PAGE.replace("0.727", "0.728"), printed, 1e-4)).isPresent();
        assertThat(OutputComparer.difference(PAGE.replace("63, 63", "63, 64"), printed, 1e-3)).get().asString()
                .contains("64 was printed as 63", "none: a whole number");
    }

    @Test
    void changedTextOrMissingAndExtraLinesFail() {
        assertThat(OutputComparer.difference(PAGE, PAGE.replace("L1H3", "L1H2"), 1e-3)).get().asString()
                .contains("line 2");
        assertThat(OutputComparer.difference(PAGE, PAGE.replace("nats", "bits"), 1e-3)).get().asString()
                .contains("line 1", "the text differs");
        assertThat(OutputComparer.difference(PAGE, PAGE + "more\n", 1e-3)).get().asString()
                .contains("line 3 was printed but the page shows no more");
        assertThat(OutputComparer.difference(PAGE, "Loss on the repeated half  0.4640 nats\n", 1e-3)).get()
                .asString().contains("line 2 of the page was not printed");
    }

    @Test
    void largeNumbersUseARelativeTolerance() {
        assertThat(OutputComparer.difference("loss 5814.0", "loss 5818.0", 1e-3)).isEmpty();
        assertThat(OutputComparer.difference("loss 5814.0", "loss 5824.0", 1e-3)).isPresent();
        assertThat(OutputComparer.difference("p 1.5e-05", "p 1.6e-05", 1e-3)).isEmpty();
    }
}
