package dev.loupe.bench;

import dev.loupe.bench.Report.Evaluation;
import dev.loupe.bench.Report.Result;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The benchmark table as Markdown, for issue notes and pull requests: each benchmark's time, % of the
 * matMul ceiling, fixed overhead, ratio and target, and, when an earlier run's result file is given, that
 * run's time, % of ceiling and overhead beside the new ones with the change in time, so that every change
 * to a hot path shows its effect. Rows are matched by method, shape and model folder; a row the earlier
 * run lacks shows a dash.
 */
final class MarkdownReport {
    private MarkdownReport() {}

    static String render(Evaluation now, String source, Evaluation before, String beforeSource) {
        Map<String, Result> earlier = new LinkedHashMap<>();
        if (before != null) {
            before.results().forEach(result -> earlier.put(key(result), result));
        }
        StringBuilder out = new StringBuilder();
        out.append("### Loupe benchmarks: `").append(source).append('`');
        if (before != null) {
            out.append(" (before: `").append(beforeSource).append("`)");
        }
        out.append("\n\n");
        if (before == null) {
            out.append("| benchmark | params | ms/op | % ceiling | overhead ms | ratio | target | status |\n");
            out.append("|---|---|--:|--:|--:|--:|---|---|\n");
        } else {
            out.append("| benchmark | params | ms/op before | ms/op now | change | % ceiling before → now"
                    + " | overhead ms before → now | ratio | target | status |\n");
            out.append("|---|---|--:|--:|--:|--:|--:|--:|---|---|\n");
        }
        for (Result result : now.results()) {
            Report.Row row = result.row();
            String params = row.shape().isEmpty() ? "–" : row.shape();
            out.append("| ").append(row.method()).append(" | ").append(params).append(" | ");
            if (before == null) {
                out.append(Report.time(row)).append(" | ").append(cell(result.percent(), "%.1f %%")).append(" | ")
                        .append(cell(result.overheadMs(), "%.1f"));
            } else {
                Result old = earlier.get(key(result));
                out.append(old == null ? "–" : Report.time(old.row())).append(" | ").append(Report.time(row)).append(" | ")
                        .append(old == null ? "–" : String.format(Locale.ROOT, "%+.1f %%",
                                100 * (row.ms() / old.row().ms() - 1)))
                        .append(" | ").append(pair(old == null ? null : old.percent(), result.percent(), "%.1f %%"))
                        .append(" | ").append(pair(old == null ? null : old.overheadMs(), result.overheadMs(), "%.1f"));
            }
            out.append(" | ").append(cell(result.ratio(), "%.3f×")).append(" | ").append(result.target().isEmpty()
                    ? "–" : result.target()).append(" | ").append(result.status().isEmpty() ? "–" : result.status())
                    .append(" |\n");
        }
        out.append('\n');
        if (now.ceilingGflops() != null) {
            out.append(String.format(Locale.ROOT, "Ceiling: fp32 %d³ matMul = %.1f GFLOP/s", MatMulBench.N,
                    now.ceilingGflops()));
            if (before != null && before.ceilingGflops() != null) {
                out.append(String.format(Locale.ROOT, " (before: %.1f GFLOP/s)", before.ceilingGflops()));
            }
            out.append(". This machine's timings drift between runs: compare % of ceiling and ratios.\n");
        }
        out.append("Overhead: time minus the time the op's matrix products take at the ceiling's rate.\n");
        return out.toString();
    }

    private static String key(Result result) {
        return result.row().method() + "|" + Report.key(result.row());
    }

    private static String cell(Double value, String format) {
        return value == null ? "–" : String.format(Locale.ROOT, format, value);
    }

    private static String pair(Double before, Double now, String format) {
        if (before == null && now == null) {
            return "–";
        }
        return cell(before, format) + " → " + cell(now, format);
    }
}
