package dev.loupe.viz;

import dev.loupe.sae.analysis.FeatureTopTokens;
import dev.loupe.sae.features.FeatureActivity;
import dev.loupe.sae.features.FeatureHarvest;
import dev.loupe.tokenize.TokenDisplay;
import dev.loupe.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The page listing an SAE's features from the densest down (those that fired on the corpus, and any with a page),
 * each with its density, largest activation and most promoted tokens, and a link to its {@link FeaturePage}; above
 * them, the histogram of the features' log10 densities (quarter-decade bins).
 */
public final class FeatureIndex {
    /** Promoted tokens shown per feature. */
    private static final int TOP_TOKENS = 3;

    private FeatureIndex() {}

    /**
     * The index.
     *
     * @param sae what the SAE is, for the title
     * @param logits features' promoted tokens by feature (any subset)
     * @param pages the features that have a page ({@link FeaturePage#fileName})
     * @param tokenizer the model's, for token text, or null to show ids
     */
    public static HtmlReport report(String sae, FeatureHarvest harvest, Map<Integer, FeatureTopTokens> logits,
            Set<Integer> pages, Tokenizer tokenizer) {
        List<FeatureTable.Row> rows = new ArrayList<>();
        long dead = 0;
        for (FeatureActivity activity : harvest.byDensity()) {
            int f = activity.feature();
            dead += activity.activeTokens() == 0 ? 1 : 0;
            if (activity.activeTokens() == 0 && !pages.contains(f)) {
                continue;
            }
            FeatureTopTokens top = logits.get(f);
            List<String> tokens = top == null ? List.of() : TokenDisplay.labels(tokenizer,
                    Arrays.copyOf(top.promotedTokens(), Math.min(TOP_TOKENS, top.promotedTokens().length)));
            rows.add(new FeatureTable.Row(f, activity.density(), activity.maxActivation(), tokens,
                    pages.contains(f) ? FeaturePage.fileName(f) : null));
        }
        HtmlReport report = HtmlReport.titled("Features of " + sae);
        report.paragraph(String.format(Locale.ROOT, "%d features on %d tokens (%d sequences) read at %s: %d fired, %d"
                + " never did. %d have a page (and their promoted tokens shown).", harvest.features().size(),
                harvest.tokens(), harvest.sequences(), harvest.hookName(), harvest.features().size() - dead, dead,
                pages.size()));
        Histogram densities = densities(harvest);
        if (densities != null) {
            report.histogram(densities);
        }
        return report.featureTable(new FeatureTable("Features by density", rows));
    }

    /** log10 of the density of every feature that fired, in quarter decades up to 0; null when none fired. */
    static Histogram densities(FeatureHarvest harvest) {
        double lowest = 0;
        for (FeatureActivity activity : harvest.features()) {
            if (activity.activeTokens() > 0) {
                lowest = Math.min(lowest, Math.log10(activity.density()));
            }
        }
        if (harvest.features().stream().allMatch(a -> a.activeTokens() == 0)) {
            return null;
        }
        int bins = Math.max(1, (int) Math.ceil(-lowest * 4));
        double[] edges = new double[bins + 1];
        for (int i = 0; i <= bins; i++) {
            edges[i] = -bins / 4.0 + i / 4.0;
        }
        long[] counts = new long[bins];
        for (FeatureActivity activity : harvest.features()) {
            if (activity.activeTokens() > 0) {
                int bin = (int) Math.floor((Math.log10(activity.density()) - edges[0]) * 4);
                counts[Math.min(bins - 1, Math.max(0, bin))]++; // density 1 falls on the last edge
            }
        }
        return new Histogram("Feature densities (log10 of the fraction of tokens each is active on)", edges, counts,
                "log10 density");
    }
}
