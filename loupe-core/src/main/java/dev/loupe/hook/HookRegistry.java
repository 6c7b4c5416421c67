package dev.loupe.hook;

import dev.loupe.ClosestNames;
import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Every hook point of a model by name, in TransformerLens's registration order, and the hooks
 * attached to them. Hooks are added at a scope level: {@link #enterScope()} opens a level,
 * {@link #exitScope(int)} removes what was added at that level or deeper, so nested scopes clean up
 * only their own hooks. Permanent hooks survive everything but {@link #reset(boolean) reset(true)}.
 *
 * <p>Not thread-safe: a model runs one forward pass at a time.
 */
public final class HookRegistry {
    private final Map<String, HookPoint> points = new LinkedHashMap<>();
    private final Function<String, String> whyNotFiring;
    private int level;

    /**
     * @param points every hook point, in registration order
     * @param whyNotFiring for a hook name, null if the point fires in the model's current
     *     configuration, else a message saying which flag turns it on
     */
    public HookRegistry(Collection<HookPoint> points, Function<String, String> whyNotFiring) {
        for (HookPoint point : points) {
            if (this.points.put(point.name(), point) != null) {
                throw new IllegalStateException("Duplicate hook point " + point.name());
            }
        }
        this.whyNotFiring = whyNotFiring;
    }

    /** Every hook point by name, in registration order (read-only). */
    public Map<String, HookPoint> points() {
        return Collections.unmodifiableMap(points);
    }

    /**
     * The hook point called {@code name}.
     *
     * @throws UnknownHookException if there is none, listing the closest valid names
     */
    public HookPoint point(String name) {
        HookPoint point = points.get(name);
        if (point == null) {
            throw new UnknownHookException(name, closest(name, 5));
        }
        return point;
    }

    /**
     * The points a spec targets: its named point (which must exist and fire in the current
     * configuration), or every firing point its filter accepts.
     */
    public List<HookPoint> resolve(HookSpec spec) {
        if (spec.name() != null) {
            HookPoint point = point(spec.name());
            String why = whyNotFiring.apply(point.name());
            if (why != null) {
                throw new LoupeException(why);
            }
            return List.of(point);
        }
        List<HookPoint> matched = new ArrayList<>();
        for (HookPoint point : points.values()) {
            if (spec.filter().test(point.name()) && whyNotFiring.apply(point.name()) == null) {
                matched.add(point);
            }
        }
        return matched;
    }

    /** Opens a scope level and returns it; hooks added now belong to it. */
    public int enterScope() {
        return ++level;
    }

    /** Removes every hook added at {@code scopeLevel} or deeper, and closes those levels. */
    public void exitScope(int scopeLevel) {
        for (HookPoint point : points.values()) {
            point.removeFrom(scopeLevel, false);
        }
        level = Math.min(level, scopeLevel - 1);
    }

    /** The current scope level (0 when no scope is open). */
    public int level() {
        return level;
    }

    /**
     * Attaches {@code spec} at the current level. All targets are resolved before anything is
     * attached, so a bad spec attaches nothing.
     */
    public void add(HookSpec spec) {
        attach(spec, level);
    }

    /** Attaches {@code spec} permanently: only {@code reset(true)} removes it. */
    public void addPermanent(HookSpec spec) {
        attach(spec, HookPoint.PERMANENT);
    }

    /** Removes every non-permanent hook (and permanent ones too if asked), closing every scope. */
    public void reset(boolean includingPermanent) {
        for (HookPoint point : points.values()) {
            point.removeFrom(0, includingPermanent);
        }
        level = 0;
    }

    private void attach(HookSpec spec, int atLevel) {
        for (HookPoint point : resolve(spec)) {
            if (spec.isBackward()) {
                point.addBackward(spec.backward(), atLevel);
            } else {
                point.add(spec.forward(), atLevel);
            }
        }
    }

    /** The {@code n} valid names closest to {@code name} by edit distance. */
    public List<String> closest(String name, int n) {
        return ClosestNames.of(name, points.keySet(), n);
    }
}
