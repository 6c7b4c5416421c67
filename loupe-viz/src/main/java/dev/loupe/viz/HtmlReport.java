package dev.loupe.viz;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A self-contained HTML page of views: every style, script and datum is inline, and the page's
 * Content-Security-Policy forbids it any network request, so it opens offline, from a file, anywhere.
 *
 * <pre>{@code
 * HtmlReport.titled("IOI in GPT-2")
 *         .attention("Layer 9", List.of(AttentionPatterns.fromCache(cache, 9, 0, tokens)))
 *         .trajectory("Logit lens", List.of(LensTrajectory.logitLens(model, ids, 5)))
 *         .heatmap(Heatmap.diverging("Patching resid_pre", "layer", layers, "position", tokens, values, "logit diff"))
 *         .write(Path.of("report.html"));
 * }</pre>
 *
 * <p>Views are drawn by the browser (plain DOM, no library): attention patterns with a layer and head
 * picker, trajectories switchable between probability, entropy and KL, heatmaps, bar charts and
 * coloured tokens; hovering any cell shows its tokens and value.
 */
public final class HtmlReport {
    private final String title;
    private final List<String> parts = new ArrayList<>();

    private HtmlReport(String title) {
        this.title = title;
    }

    /** An empty report with this page title. */
    public static HtmlReport titled(String title) {
        return new HtmlReport(title);
    }

    /** A paragraph of text. */
    public HtmlReport paragraph(String text) {
        parts.add("<p class=\"loupe-note\">" + escape(text) + "</p>");
        return this;
    }

    /** A heading that groups the views after it (one per prompt, say). */
    public HtmlReport heading(String text) {
        parts.add("<h2 class=\"loupe-group\">" + escape(text) + "</h2>");
        return this;
    }

    /**
     * Attention patterns: a thumbnail grid per head, the chosen head large with token labels, and a
     * layer picker when several layers are given.
     *
     * @param layers one {@link AttentionPatterns} per layer, all of the same tokens
     */
    public HtmlReport attention(String heading, List<AttentionPatterns> layers) {
        return attention(heading, layers, 0, 0);
    }

    /**
     * As {@link #attention(String, List)}, opening on head {@code head} of {@code layers.get(layerIndex)}
     * (the most interesting head, say) instead of the first.
     */
    public HtmlReport attention(String heading, List<AttentionPatterns> layers, int layerIndex, int head) {
        if (layerIndex < 0 || layerIndex >= layers.size() || head < 0 || head >= layers.get(layerIndex).nHeads()) {
            throw new IllegalArgumentException("No head " + head + " in layer index " + layerIndex + " of "
                    + layers.size() + " layers to open on");
        }
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("attention needs the patterns of at least one layer");
        }
        for (AttentionPatterns layer : layers) {
            if (!layer.tokens().equals(layers.get(0).tokens())) {
                throw new IllegalArgumentException("All layers of one attention view must have the same tokens;"
                        + " layer " + layer.layer() + " differs from layer " + layers.get(0).layer());
            }
        }
        return view("attention", heading, ViewJson.attention(layers).put("openLayer", layerIndex).put("openHead", head));
    }

    /** Prediction trajectories (a lens picker when several lenses are given), coloured by a switchable statistic. */
    public HtmlReport trajectory(String heading, List<TrajectoryData> lenses) {
        if (lenses.isEmpty()) {
            throw new IllegalArgumentException("trajectory needs at least one lens's trajectory");
        }
        return view("trajectory", heading, ViewJson.trajectories(lenses));
    }

    /** A heatmap under its own title. */
    public HtmlReport heatmap(Heatmap heatmap) {
        return view("heatmap", heatmap.title(), ViewJson.heatmap(heatmap));
    }

    /** A bar chart under its own title. */
    public HtmlReport barChart(BarChart chart) {
        return view("bars", chart.title(), ViewJson.bars(chart));
    }

    /** Coloured tokens under their own title. */
    public HtmlReport coloredTokens(ColoredTokens tokens) {
        return view("tokens", tokens.title(), ViewJson.tokens(tokens));
    }

    /** A feature's contexts: rows of coloured tokens on one scale, each with its peak outlined. */
    public HtmlReport contexts(TokenContexts contexts) {
        return view("contexts", contexts.title(), ViewJson.contexts(contexts));
    }

    /** A histogram under its own title. */
    public HtmlReport histogram(Histogram histogram) {
        return view("histogram", histogram.title(), ViewJson.histogram(histogram));
    }

    /** A table of features linking to their pages. */
    public HtmlReport featureTable(FeatureTable table) {
        return view("features", table.title(), ViewJson.features(table));
    }

    /**
     * A paragraph holding one link to another page, relative to this one ({@code index.html}); opening a page
     * from a file follows it without any network request.
     */
    public HtmlReport link(String text, String href) {
        relativeLink(href);
        parts.add("<p class=\"loupe-note\"><a class=\"loupe-link\" href=\"" + escape(href) + "\">" + escape(text)
                + "</a></p>");
        return this;
    }

    private HtmlReport view(String kind, String heading, ObjectNode data) {
        parts.add("<section class=\"loupe-view\" data-kind=\"" + kind + "\">\n<h3>" + escape(heading) + "</h3>\n"
                + "<script type=\"application/json\" class=\"loupe-data\">" + ViewJson.forScript(data)
                + "</script>\n</section>");
        return this;
    }

    /** The whole page. */
    public String toHtml() {
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                // No network at all: inline styles and scripts only, images only from data: URLs.
                .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"
                        + " style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                // An inline icon, so the browser does not ask the server for /favicon.ico.
                .append("<link rel=\"icon\" href=\"data:,\">\n")
                .append("<meta name=\"generator\" content=\"Loupe\">\n")
                .append("<title>").append(escape(title)).append("</title>\n")
                .append("<style>\n").append(resource("report.css")).append("</style>\n</head>\n<body>\n")
                .append("<header><h1>").append(escape(title)).append("</h1></header>\n");
        for (String part : parts) {
            html.append(part).append('\n');
        }
        html.append("<div id=\"loupe-tooltip\" role=\"tooltip\" hidden></div>\n")
                .append("<script>\n").append(resource("report.js")).append("</script>\n</body>\n</html>\n");
        return html.toString();
    }

    /**
     * Writes the page to {@code file} (UTF-8) atomically: a temporary file in the same folder moved into
     * place, so the file is complete or absent. Creates missing parent folders.
     *
     * @return {@code file}
     */
    public Path write(Path file) {
        String html = toHtml();
        return AtomicFiles.write(file, "report",
                temporary -> Files.writeString(temporary, html, StandardCharsets.UTF_8));
    }

    /** Refuses a link with a scheme ({@code javascript:}, {@code https:}): pages link only to their neighbours. */
    static String relativeLink(String href) {
        if (href.contains(":") || href.startsWith("//")) {
            throw new IllegalArgumentException("A page links only to pages beside it (a relative path such as"
                    + " feature-3.html), not to " + href);
        }
        return href;
    }

    /** Escapes text for HTML element content and attribute values. */
    static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")
                .replace("'", "&#39;");
    }

    private static String resource(String name) {
        try (InputStream in = HtmlReport.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("loupe-viz is missing its resource dev/loupe/viz/" + name
                        + "; rebuild the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
