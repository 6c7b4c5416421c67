package dev.loupe.train;

import java.util.Locale;

/**
 * A training loss curve as a small self-contained SVG line chart (loss against step, a point per
 * step, axes labelled), for model cards that render on any Markdown viewer.
 */
public final class LossCurveSvg {
    private static final int WIDTH = 640;
    private static final int HEIGHT = 320;
    private static final int LEFT = 56;
    private static final int RIGHT = 16;
    private static final int TOP = 28;
    private static final int BOTTOM = 40;

    private LossCurveSvg() {}

    /**
     * @param title the chart's title
     * @param steps step numbers, increasing
     * @param losses the loss at each step
     */
    public static String render(String title, long[] steps, double[] losses) {
        if (steps.length == 0 || steps.length != losses.length) {
            throw new IllegalArgumentException("A loss curve needs as many steps as losses, and at least one");
        }
        double maxLoss = 0;
        for (double loss : losses) {
            maxLoss = Math.max(maxLoss, loss);
        }
        double top = Math.max(1, Math.ceil(maxLoss));
        long first = steps[0];
        long last = Math.max(steps[steps.length - 1], first + 1);
        int plotW = WIDTH - LEFT - RIGHT;
        int plotH = HEIGHT - TOP - BOTTOM;
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT, WIDTH, HEIGHT));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, HEIGHT));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"14\">%s</text>%n", LEFT, escape(title)));
        int ticks = 5;
        for (int i = 0; i <= ticks; i++) {
            double value = top * i / ticks;
            double y = TOP + plotH - plotH * value / top;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>%n",
                    LEFT, y, LEFT + plotW, y));
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>%n",
                    LEFT - 6, y + 4, value));
            long step = first + Math.round((double) (last - first) * i / ticks);
            double x = LEFT + plotW * (double) (step - first) / (last - first);
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>%n",
                    x, TOP + plotH + 16, step));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>%n",
                LEFT + plotW / 2, HEIGHT - 6));
        svg.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" "
                + "text-anchor=\"middle\">loss (nats)</text>%n", TOP + plotH / 2, TOP + plotH / 2));
        svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                + "stroke=\"#444\"/>%n", LEFT, TOP, plotW, plotH));
        svg.append("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1\" points=\"");
        for (int i = 0; i < steps.length; i++) {
            double x = LEFT + plotW * (double) (steps[i] - first) / (last - first);
            double y = TOP + plotH - plotH * Math.min(losses[i], top) / top;
            svg.append(String.format(Locale.ROOT, "%s%.1f,%.1f", i == 0 ? "" : " ", x, y));
        }
        svg.append("\"/>\n</svg>\n");
        return svg.toString();
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
