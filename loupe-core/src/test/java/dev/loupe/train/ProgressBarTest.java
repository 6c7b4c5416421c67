package dev.loupe.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
    @Test
    void withoutATerminalItPrintsATenthOfTheRunPerLine() {
        StringWriter text = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), 0, 100, false);
        for (int step = 1; step <= 100; step++) {
            bar.update(step, 5.0 - step / 50.0, 1e-3);
        }
        String out = text.toString();
        assertThat(out.lines()).hasSize(11);
        assertThat(out).doesNotContain("\r");
        assertThat(out.lines().reduce((a, b) -> b).orElseThrow())
                .startsWith("[########################] 100/100 100%  loss 3.0000  lr 1.0e-03");
    }

    @Test
    void onATerminalItRedrawsOneLine() {
        StringWriter text = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), 0, 4, true);
        bar.update(1, 2.5, 0.1);
        bar.update(4, 1.25, 0.1);
        assertThat(text.toString()).startsWith("\r[######..................] 1/4  25%  loss 2.5000")
                .contains("\r[########################] 4/4 100%  loss 1.2500").endsWith("\n");
    }
}
