package dev.loupe.viz;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/** The JSON each view's script reads (see report.js); NaN and infinities become null. */
final class ViewJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ViewJson() {}

    static ObjectNode attention(List<AttentionPatterns> layers) {
        ObjectNode node = kind("attention");
        AttentionPatterns first = layers.get(0);
        strings(node.putArray("tokens"), first.tokens());
        ArrayNode colors = node.putArray("headColors");
        int maxHeads = layers.stream().mapToInt(AttentionPatterns::nHeads).max().orElse(0);
        for (int rgb : ColorScale.headColors(maxHeads)) {
            colors.add(ColorScale.hex(rgb));
        }
        ArrayNode layerNodes = node.putArray("layers");
        for (AttentionPatterns patterns : layers) {
            ObjectNode layer = layerNodes.addObject();
            layer.put("layer", patterns.layer());
            ArrayNode heads = layer.putArray("heads");
            for (float[][] head : patterns.pattern()) {
                ArrayNode rows = heads.addArray();
                for (float[] row : head) {
                    ArrayNode values = rows.addArray();
                    for (float w : row) {
                        // Four decimals are more than the eye sees and keep big models' pages small.
                        values.add(Float.isFinite(w) ? Math.round(w * 1e4) / 1e4 : Double.NaN);
                    }
                }
            }
        }
        return nullForNaN(node);
    }

    static ObjectNode trajectories(List<TrajectoryData> lenses) {
        ObjectNode node = kind("trajectory");
        ArrayNode lensNodes = node.putArray("lenses");
        for (TrajectoryData data : lenses) {
            ObjectNode lens = lensNodes.addObject();
            lens.put("lens", data.lens());
            strings(lens.putArray("tokens"), data.tokens());
            strings(lens.putArray("layers"), data.layers());
            ObjectNode scales = lens.putObject("scales");
            ObjectNode labels = lens.putObject("labels");
            for (TrajectoryData.Statistic statistic : TrajectoryData.Statistic.values()) {
                scales.set(statistic.key(), scale(data.scale(statistic)));
                labels.put(statistic.key(), statistic.label());
            }
            ArrayNode rows = lens.putArray("cells");
            for (List<TrajectoryData.Cell> row : data.cells()) {
                ArrayNode cells = rows.addArray();
                for (TrajectoryData.Cell cell : row) {
                    ObjectNode c = cells.addObject();
                    strings(c.putArray("t"), cell.topTokens());
                    floats(c.putArray("p"), cell.topProbs());
                    c.put("e", cell.entropy());
                    c.put("kl", cell.klToFinal());
                }
            }
        }
        return nullForNaN(node);
    }

    static ObjectNode heatmap(Heatmap heatmap) {
        ObjectNode node = kind("heatmap");
        node.put("rowName", heatmap.rowName());
        node.put("columnName", heatmap.columnName());
        strings(node.putArray("rows"), heatmap.rowLabels());
        strings(node.putArray("columns"), heatmap.columnLabels());
        ArrayNode values = node.putArray("values");
        for (float[] row : heatmap.values()) {
            floats(values.addArray(), row);
        }
        node.put("valueName", heatmap.valueName());
        node.set("scale", scale(heatmap.scale()));
        if (heatmap.cellText() != null) {
            ArrayNode text = node.putArray("text");
            for (String[] row : heatmap.cellText()) {
                strings(text.addArray(), List.of(row));
            }
        }
        return nullForNaN(node);
    }

    static ObjectNode bars(BarChart chart) {
        ObjectNode node = kind("bars");
        strings(node.putArray("labels"), chart.labels());
        floats(node.putArray("values"), chart.values());
        node.put("valueName", chart.valueName());
        return nullForNaN(node);
    }

    static ObjectNode tokens(ColoredTokens tokens) {
        ObjectNode node = kind("tokens");
        strings(node.putArray("tokens"), tokens.tokens());
        floats(node.putArray("values"), tokens.values());
        node.put("valueName", tokens.valueName());
        node.set("scale", scale(tokens.scale()));
        return nullForNaN(node);
    }

    static ObjectNode contexts(TokenContexts contexts) {
        ObjectNode node = kind("contexts");
        node.put("valueName", contexts.valueName());
        node.set("scale", scale(contexts.scale()));
        ArrayNode rows = node.putArray("rows");
        for (TokenContexts.Row row : contexts.rows()) {
            ObjectNode r = rows.addObject();
            r.put("label", row.label());
            strings(r.putArray("tokens"), row.tokens());
            floats(r.putArray("values"), row.values());
            r.put("peak", row.peak());
        }
        return nullForNaN(node);
    }

    static ObjectNode histogram(Histogram histogram) {
        ObjectNode node = kind("histogram");
        node.put("valueName", histogram.valueName());
        ArrayNode edges = node.putArray("edges");
        for (double edge : histogram.edges()) {
            edges.add(edge);
        }
        ArrayNode counts = node.putArray("counts");
        for (long count : histogram.counts()) {
            counts.add(count);
        }
        return nullForNaN(node);
    }

    static ObjectNode features(FeatureTable table) {
        ObjectNode node = kind("features");
        ArrayNode rows = node.putArray("rows");
        for (FeatureTable.Row row : table.rows()) {
            ObjectNode r = rows.addObject();
            r.put("feature", row.feature());
            r.put("density", row.density());
            r.put("max", row.maxActivation());
            strings(r.putArray("top"), row.topTokens());
            if (row.href() != null) {
                r.put("href", row.href());
            }
        }
        return nullForNaN(node);
    }

    static ObjectNode scale(ColorScale scale) {
        ObjectNode node = JSON.createObjectNode();
        ArrayNode stops = node.putArray("stops");
        for (int rgb : scale.stops()) {
            stops.add(ColorScale.hex(rgb));
        }
        node.put("min", scale.min());
        node.put("max", scale.max());
        return node;
    }

    /** JSON text safe inside an HTML {@code <script>} element: no {@code <} at all, so nothing can end it early. */
    static String forScript(ObjectNode node) {
        try {
            // '<' and '>' only occur inside JSON strings, where \\u escapes mean the same characters.
            return JSON.writeValueAsString(node).replace("<", "\\u003c").replace(">", "\\u003e")
                    .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Could not write a view's data as JSON", e);
        }
    }

    private static ObjectNode kind(String kind) {
        ObjectNode node = JSON.createObjectNode();
        node.put("kind", kind);
        return node;
    }

    private static void strings(ArrayNode array, List<String> values) {
        values.forEach(array::add);
    }

    private static void floats(ArrayNode array, float[] values) {
        for (float v : values) {
            array.add(v);
        }
    }

    /** JSON has no NaN or infinity: replaces them by null (drawn grey, shown as n/a). */
    private static ObjectNode nullForNaN(ObjectNode node) {
        replaceNonFinite(node);
        return node;
    }

    private static void replaceNonFinite(JsonNode node) {
        if (node instanceof ObjectNode object) {
            object.properties().forEach(entry -> {
                if (entry.getValue().isNumber() && !Double.isFinite(entry.getValue().doubleValue())) {
                    object.putNull(entry.getKey());
                } else {
                    replaceNonFinite(entry.getValue());
                }
            });
        } else if (node instanceof ArrayNode array) {
            for (int i = 0; i < array.size(); i++) {
                if (array.get(i).isNumber() && !Double.isFinite(array.get(i).doubleValue())) {
                    array.set(i, JSON.nullNode());
                } else {
                    replaceNonFinite(array.get(i));
                }
            }
        }
    }
}
