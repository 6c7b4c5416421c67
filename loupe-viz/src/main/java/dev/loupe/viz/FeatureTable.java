package dev.loupe.viz;

import java.util.List;

/**
 * A table of an SAE's features, one row each, in the order given (by density for {@link FeatureIndex}), each
 * feature linking to its page when it has one.
 *
 * @param title shown above the table
 * @param rows the features
 */
public record FeatureTable(String title, List<Row> rows) {
    public FeatureTable {
        rows = List.copyOf(rows);
    }

    /**
     * One feature.
     *
     * @param feature its index in the SAE
     * @param density the fraction of tokens it is active on
     * @param maxActivation its largest activation
     * @param topTokens the tokens it promotes most (labels), or none
     * @param href its page, relative to the table's page, or null when it has none
     */
    public record Row(int feature, double density, float maxActivation, List<String> topTokens, String href) {
        public Row {
            topTokens = List.copyOf(topTokens);
            if (href != null) {
                HtmlReport.relativeLink(href);
            }
        }
    }
}
