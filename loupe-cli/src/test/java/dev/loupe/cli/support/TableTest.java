package dev.loupe.cli.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.tokenize.TokenDisplay;
import org.junit.jupiter.api.Test;

class TableTest {
    @Test
    void tokensAreShownReadably() {
        assertThat(Table.token(" fox")).isEqualTo("␣fox");
        assertThat(Table.token("<|endoftext|>")).isEqualTo("<|endoftext|>");
        assertThat(Table.token("\n\n")).isEqualTo("\\n\\n");
        assertThat(Table.token("\u0007\t")).isEqualTo("\\x07\\t");
        assertThat(Table.token(" " + "a".repeat(30))).isEqualTo("␣" + "a".repeat(18) + "…");
        assertThat(Table.token("😀".repeat(21))).isEqualTo("😀".repeat(19) + "…");
        assertThat(TokenDisplay.visible("two words\n", false)).isEqualTo("two words\\n");
    }

    @Test
    void columnsAreAsWideAsTheirWidestCellAndNumbersAlignRight() {
        Table table = Table.withHeader("layer", "token", "p").alignRight(0, 2)
                .row("0", "␣fox", "0.5")
                .row("10", "a", "0.25");
        assertThat(table.toString()).isEqualTo("""
                layer  token     p
                    0  ␣fox    0.5
                   10  a      0.25
                """);
        assertThat(table.indent(2).toString()).startsWith("  layer  token     p\n    ");
        assertThat(Table.withHeader("a", "b").row("x", "").toString()).isEqualTo("a  b\nx\n");
    }

    @Test
    void tokenIdsWithoutATokenizerAndProbabilities() {
        assertThat(Table.token(null, 464)).isEqualTo("#464");
        assertThat(Table.probability(0.0102314f)).isEqualTo("0.010231");
    }
}
