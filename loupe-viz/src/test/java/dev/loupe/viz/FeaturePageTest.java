package dev.loupe.viz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sae.features.ActivationHistogram;
import dev.loupe.sae.features.FeatureActivity;
import dev.loupe.sae.features.FeatureContext;
import dev.loupe.sae.features.FeatureHarvest;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The feature pages' HTML without a browser: what they hold, and links only to neighbouring pages. */
class FeaturePageTest {
    private static final FeatureActivity FIRED = new FeatureActivity(2, 3, 40, 2.5f,
            new ActivationHistogram(0.5, new long[] {0, 1, 0, 1, 0, 1, 0, 0}),
            List.of(new FeatureContext(4, 1, 0, new long[] {7, 8, 9}, new float[] {0, 2.5f, 1}),
                    new FeatureContext(0, 0, 0, new long[] {5}, new float[] {1.25f})));
    private static final FeatureActivity DEAD = new FeatureActivity(0, 0, 40, 0,
            new ActivationHistogram(0.125, new long[8]), List.of());

    @Test
    void aPageHoldsItsContextsHistogramAndLinkAndNoNetworkReference() {
        String html = FeaturePage.report("my <sae>", FIRED, null, null, "index.html").toHtml();
        assertThat(html).contains("<title>Feature 2 of my &lt;sae&gt;</title>", "href=\"index.html\"",
                "data-kind=\"contexts\"", "data-kind=\"histogram\"", "\"tokens\":[\"#7\",\"#8\",\"#9\"]", "\"peak\":1",
                "density 0.07500").doesNotContain("http://", "https://", "<sae>");
        assertThat(FeaturePage.contexts(FIRED, null).scale()).isEqualTo(ColorScale.blues(0, 2.5));
        assertThat(FeaturePage.histogram(FIRED.histogram()).edges()).containsExactly(0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4);
        assertThat(FeaturePage.report("s", DEAD, null, null, null).toHtml()).contains("It never fired on this corpus.")
                .doesNotContain("data-kind=\"contexts\"");
    }

    @Test
    void theIndexListsFeaturesThatFiredByDensity() {
        FeatureHarvest harvest = new FeatureHarvest("blocks.0.hook_resid_pre", 2, List.of(DEAD,
                new FeatureActivity(1, 40, 40, 1, FIRED.histogram(), List.of()), FIRED));
        String html = FeatureIndex.report("s", harvest, Map.of(), Set.of(2), null).toHtml();
        assertThat(html).contains("3 features on 40 tokens (2 sequences) read at blocks.0.hook_resid_pre: 2 fired, 1"
                + " never did. 1 have a page",  "{\"feature\":1,\"density\":1.0", "\"href\":\"feature-2.html\"");
        assertThat(html.indexOf("\"feature\":1,")).isLessThan(html.indexOf("\"feature\":2,"));
        assertThat(html).doesNotContain("\"feature\":0,");
        Histogram densities = FeatureIndex.densities(harvest);
        // Quarter decades from -1.25: log10 0.075 = -1.125 in the first, log10 1 = 0 on the last edge, in the last.
        assertThat(densities.edges()).containsExactly(-1.25, -1, -0.75, -0.5, -0.25, 0);
        assertThat(densities.counts()).containsExactly(1, 0, 0, 0, 1);
    }

    @Test
    void linksLeadOnlyToNeighbouringPages() {
        for (String href : List.of("javascript:alert(1)", "https://example.com/x.html", "//example.com/x.html")) {
            assertThatThrownBy(() -> HtmlReport.titled("t").link("x", href)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("relative path");
            assertThatThrownBy(() -> new FeatureTable.Row(1, 0.5, 1f, List.of(), href))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
