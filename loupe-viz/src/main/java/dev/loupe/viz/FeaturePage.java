package dev.loupe.viz;

import dev.loupe.sae.analysis.FeatureTopTokens;
import dev.loupe.sae.features.ActivationHistogram;
import dev.loupe.sae.features.FeatureActivity;
import dev.loupe.sae.features.FeatureContext;
import dev.loupe.tokenize.TokenDisplay;
import dev.loupe.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The page of one SAE feature, as a feature dashboard shows it: its top-activating contexts with every token
 * coloured by the feature's activation (one white-to-blue scale from 0 to the feature's largest activation, the
 * peak token outlined), the tokens its decoder direction promotes and suppresses (W_dec[f]·W_U), and the histogram
 * of its positive activations (linear bins), with its density and a link back to the {@link FeatureIndex}.
 *
 * <pre>{@code
 * FeaturePage.report("gpt2 L0 resid_pre", harvest.feature(7), logits, model.tokenizer(), "index.html")
 *         .write(out.resolve(FeaturePage.fileName(7)));
 * }</pre>
 */
public final class FeaturePage {
    private FeaturePage() {}

    /** The file name of feature {@code f}'s page, as the index links to it. */
    public static String fileName(int feature) {
        return "feature-" + feature + ".html";
    }

    /**
     * The page of one feature.
     *
     * @param sae what the SAE is, for the title
     * @param logits its promoted and suppressed tokens, or null to leave them out
     * @param tokenizer the model's, for token text, or null to show ids ({@code #42})
     * @param indexHref the index page, relative to this one, or null for no link
     */
    public static HtmlReport report(String sae, FeatureActivity activity, FeatureTopTokens logits, Tokenizer tokenizer,
            String indexHref) {
        int f = activity.feature();
        HtmlReport report = HtmlReport.titled("Feature " + f + " of " + sae);
        if (indexHref != null) {
            report.link("\u2190 every feature of " + sae, indexHref);
        }
        report.paragraph(String.format(Locale.ROOT, "Active (> 0) on %d of %d tokens: density %.4g. Largest activation"
                + " %.4g.", activity.activeTokens(), activity.tokens(), activity.density(), activity.maxActivation()));
        if (activity.contexts().isEmpty()) {
            report.paragraph(activity.activeTokens() == 0 ? "It never fired on this corpus."
                    : "Its contexts were not kept.");
        } else {
            report.contexts(contexts(activity, tokenizer));
        }
        if (logits != null) {
            report.barChart(new BarChart("Tokens it promotes (W_dec[" + f + "] \u00b7 W_U)",
                    TokenDisplay.labels(tokenizer, logits.promotedTokens()), logits.promoted(), "logit weight"));
            report.barChart(new BarChart("Tokens it suppresses", TokenDisplay.labels(tokenizer,
                    logits.suppressedTokens()), logits.suppressed(), "logit weight"));
        }
        report.histogram(histogram(activity.histogram()));
        return report;
    }

    /** The top contexts as rows of coloured tokens, on one scale from 0 to the feature's largest activation. */
    static TokenContexts contexts(FeatureActivity activity, Tokenizer tokenizer) {
        List<TokenContexts.Row> rows = new ArrayList<>();
        for (FeatureContext context : activity.contexts()) {
            rows.add(new TokenContexts.Row("sequence " + context.sequence() + ", position " + context.position(),
                    TokenDisplay.labels(tokenizer, context.tokens()), context.activations(), context.maxIndex()));
        }
        float max = activity.maxActivation();
        return new TokenContexts("Top " + rows.size() + " activating contexts (one per sequence, most active first)",
                rows, "activation", ColorScale.blues(0, max > 0 && Float.isFinite(max) ? max : 1));
    }

    /** The activation histogram with its bins' edges. */
    static Histogram histogram(ActivationHistogram histogram) {
        double[] edges = new double[histogram.bins() + 1];
        for (int i = 0; i < edges.length; i++) {
            edges[i] = histogram.edge(i);
        }
        return new Histogram("Positive activations (" + histogram.bins() + " linear bins; zeros not counted)", edges,
                histogram.counts(), "activation");
    }
}
