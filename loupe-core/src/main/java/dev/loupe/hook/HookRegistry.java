package dev.loupe.hook;

import dev.loupe.ClosestNames;
import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Every hook point of a model by name, in TransformerLens's registration order, and the model-level
 * hooks attached to them: hooks added in scopes ({@link #openScope()}), hooks added outside any scope
 * (until {@link #reset(boolean)}) and permanent hooks (only {@code reset(true)} removes them).
 *
 * <p><b>Threads.</b> The registry is safe to use from several threads. Its hooks are copy-on-write:
 * every change publishes a new immutable {@link AttachedHooks} ({@link #hooks()}), and a run takes
 * the set current when it starts, adds its own hooks to a private copy and fires only those, so a run
 * never sees hooks that another run attached for itself, nor a change made while it computes. The
 * rule for model-level hooks is: hooks added by {@link #add}, {@link #addPermanent} or in a scope
 * apply to every run that starts after they were added, on any thread, until they are removed; a
 * scope opened on one thread therefore also hooks the runs that other threads start while it is open.
 * Scopes nest per thread: a scope opened inside another on the same thread closes with it, and a hook
 * added with {@link #add} goes to the calling thread's innermost open scope (or, outside any, stays
 * until a reset). TransformerLens has no threads; on one thread all of this is its semantics.
 */
public final class HookRegistry {
    private final Map<String, HookPoint> points = new LinkedHashMap<>();
    private final Function<String, String> whyNotFiring;
    private final ThreadLocal<Scope> innermost = new ThreadLocal<>();
    private final Object lock = new Object();
    private final Set<Scope> openScopes = new HashSet<>(); // guarded by lock
    private List<Attachment> attachments = List.of(); // guarded by lock; replaced, never changed
    private volatile AttachedHooks hooks;

    /** One model-level hook: its spec, the points it resolved to, and what removes it. */
    private record Attachment(HookSpec spec, List<HookPoint> points, Scope scope, boolean permanent) {}

    /**
     * @param points every hook point, in registration order (each belongs to one registry only)
     * @param whyNotFiring for a hook name, null if the point fires in the model's current
     *     configuration, else a message saying which flag turns it on
     */
    public HookRegistry(Collection<HookPoint> points, Function<String, String> whyNotFiring) {
        int index = 0;
        for (HookPoint point : points) {
            if (this.points.put(point.name(), point) != null) {
                throw new IllegalStateException("Duplicate hook point " + point.name());
            }
            point.register(this, index++);
        }
        this.whyNotFiring = whyNotFiring;
        hooks = AttachedHooks.none(this, index);
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
        return resolve(spec, whyNotFiring);
    }

    /**
     * As {@link #resolve(HookSpec)}, under the configuration that {@code whyNot} describes (a run
     * resolves its hooks under the configuration it started with).
     *
     * @param whyNot for a hook name, null if the point fires, else the message saying why not
     */
    public List<HookPoint> resolve(HookSpec spec, Function<String, String> whyNot) {
        if (spec.name() != null) {
            HookPoint point = point(spec.name());
            String why = whyNot.apply(point.name());
            if (why != null) {
                throw new LoupeException(why);
            }
            return List.of(point);
        }
        List<HookPoint> matched = new ArrayList<>();
        for (HookPoint point : points.values()) {
            if (spec.filter().test(point.name()) && whyNot.apply(point.name()) == null) {
                matched.add(point);
            }
        }
        return matched;
    }

    /**
     * The model-level hooks now: an immutable set that later changes do not affect. A run starts
     * from it ({@link AttachedHooks#toBuilder()}).
     */
    public AttachedHooks hooks() {
        return hooks;
    }

    /**
     * Opens a scope on the calling thread, inside its innermost open scope if it has one; hooks that
     * this thread adds with {@link #add} go to it until it closes, and closing it removes them (and
     * closes the scopes opened inside it).
     */
    public Scope openScope() {
        synchronized (lock) {
            Scope parent = innermostOpen();
            Scope scope = new Scope(this, parent, parent == null ? 1 : parent.level + 1);
            openScopes.add(scope);
            innermost.set(scope);
            return scope;
        }
    }

    /** Opens a scope ({@link #openScope()}) and returns its level (1 for the outermost). */
    public int enterScope() {
        return openScope().level();
    }

    /**
     * Closes the calling thread's open scope at {@code scopeLevel} (with the scopes inside it),
     * removing every hook added in them; nothing happens if this thread has no open scope at that level.
     */
    public void exitScope(int scopeLevel) {
        synchronized (lock) {
            Scope scope = innermostOpen();
            while (scope != null && scope.level > scopeLevel) {
                scope = scope.parent;
            }
            if (scope != null && scope.level == scopeLevel) {
                close(scope);
            }
        }
    }

    /** How many scopes the calling thread has open (0 when none). */
    public int level() {
        synchronized (lock) {
            Scope scope = innermostOpen();
            return scope == null ? 0 : scope.level;
        }
    }

    /**
     * Attaches {@code spec} in the calling thread's innermost open scope, or until the next reset when
     * it has none. All targets are resolved before anything is attached, so a bad spec attaches
     * nothing. It applies to runs that start afterwards.
     */
    public void add(HookSpec spec) {
        List<HookPoint> targets = resolve(spec);
        synchronized (lock) {
            attach(new Attachment(spec, targets, innermostOpen(), false));
        }
    }

    /** Attaches {@code spec} permanently: only {@code reset(true)} removes it. */
    public void addPermanent(HookSpec spec) {
        List<HookPoint> targets = resolve(spec);
        synchronized (lock) {
            attach(new Attachment(spec, targets, null, true));
        }
    }

    /**
     * Removes every non-permanent hook (and permanent ones too if asked) and closes every open scope,
     * on every thread. Runs already under way keep the hooks they started with.
     */
    public void reset(boolean includingPermanent) {
        synchronized (lock) {
            openScopes.forEach(scope -> scope.open = false);
            openScopes.clear();
            innermost.remove();
            publish(attachments.stream().filter(a -> a.permanent() && !includingPermanent).toList());
        }
    }

    /** The {@code n} valid names closest to {@code name} by edit distance. */
    public List<String> closest(String name, int n) {
        return ClosestNames.of(name, points.keySet(), n);
    }

    private void attach(Attachment attachment) {
        List<Attachment> next = new ArrayList<>(attachments);
        next.add(attachment);
        publish(List.copyOf(next));
    }

    /** Closes {@code scope} and the scopes opened inside it, and drops their hooks. Holds the lock. */
    private void close(Scope scope) {
        if (!scope.open) {
            return;
        }
        List<Scope> closing = openScopes.stream().filter(s -> s.isWithin(scope)).toList();
        closing.forEach(s -> {
            s.open = false;
            openScopes.remove(s);
        });
        if (innermostOpen() == null) {
            innermost.remove();
        }
        publish(attachments.stream().filter(a -> a.scope() == null || a.scope().open).toList());
    }

    /** Replaces the attachments and publishes the hooks they make. Holds the lock. */
    private void publish(List<Attachment> next) {
        attachments = next;
        AttachedHooks.Builder builder = AttachedHooks.none(this, points.size()).toBuilder();
        for (Attachment attachment : next) {
            builder.add(attachment.spec(), attachment.points());
        }
        hooks = builder.build();
    }

    /** The calling thread's innermost scope that is still open, or null. */
    private Scope innermostOpen() {
        Scope scope = innermost.get();
        while (scope != null && !scope.open) {
            scope = scope.parent;
        }
        return scope;
    }

    /**
     * A scope of model-level hooks ({@link #openScope()}). Closing it (on any thread) removes the
     * hooks added in it and in the scopes opened inside it; closing it twice does nothing.
     */
    public static final class Scope implements AutoCloseable {
        private final HookRegistry registry;
        private final Scope parent;
        private final int level;
        private volatile boolean open = true;

        private Scope(HookRegistry registry, Scope parent, int level) {
            this.registry = registry;
            this.parent = parent;
            this.level = level;
        }

        /** Its nesting level on the thread that opened it (1 for the outermost). */
        public int level() {
            return level;
        }

        /** Whether it is still open (a reset closes every scope). */
        public boolean isOpen() {
            return open;
        }

        private boolean isWithin(Scope other) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s == other) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void close() {
            synchronized (registry.lock) {
                registry.close(this);
            }
        }
    }
}
