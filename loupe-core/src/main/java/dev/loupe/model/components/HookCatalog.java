package dev.loupe.model.components;

import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The hook points of a model in registration order, each with the shape its activation has and
 * the flag (if any) that makes it fire. Components add their points here as they are built.
 */
public final class HookCatalog {

    /** The shape of a hook point's activation for an input of {@code batch} × {@code pos} tokens. */
    @FunctionalInterface
    public interface ShapeRule {
        Shape of(TransformerConfig config, long batch, long pos);
    }

    /**
     * One hook point.
     *
     * @param point the hook point
     * @param shape its activation's shape
     * @param flag the flag that makes it fire, or null if it always fires
     */
    public record Entry(HookPoint point, ShapeRule shape, HookFlag flag) {
        /** Whether the point fires under {@code config}. */
        public boolean fires(TransformerConfig config) {
            return flag == null || flag.isOn(config);
        }
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, Entry> byName = new HashMap<>();

    /** Adds an always-firing hook point called {@code name}. */
    public HookPoint add(String name, ShapeRule shape) {
        return add(name, shape, null);
    }

    /** Adds a hook point called {@code name} that fires only when {@code flag} is on. */
    public HookPoint add(String name, ShapeRule shape, HookFlag flag) {
        HookPoint point = new HookPoint(name);
        Entry entry = new Entry(point, shape, flag);
        entries.add(entry);
        byName.put(name, entry);
        return point;
    }

    /** The entry of the hook point called {@code name}, or null. */
    public Entry entry(String name) {
        return byName.get(name);
    }

    /** Every entry, in registration order. */
    public List<Entry> entries() {
        return Collections.unmodifiableList(entries);
    }

    /** [batch, pos, d_model], the residual stream's shape. */
    public static Shape residual(TransformerConfig c, long batch, long pos) {
        return new Shape(batch, pos, c.dModel());
    }
}
