package dev.loupe.hook;

import ai.djl.ndarray.NDArray;
import dev.loupe.ClosestNames;
import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

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
 *
 * <p><b>Splices.</b> A {@link Splice} replaces a hook point with a module that has hook points of its own,
 * model-level ({@link #addSplice}, scoped like hooks) or for one run ({@link #hooksWith}). The hooks a run
 * fires are then over a <i>view</i> of this registry (another {@code HookRegistry}, {@link #root()} this one):
 * the model's points with each target replaced by its splice's points, which get indices after the model's.
 * A view resolves names and filters like a registry but takes no hooks or scopes itself.
 */
public final class HookRegistry {
    private final Map<String, HookPoint> points = new LinkedHashMap<>();
    private final Function<String, String> whyNotFiring;
    private final HookRegistry root; // this, or the model's registry of which this is a spliced view
    private final int capacity; // hook point indices in use: the root's points, then the splices' own
    private final Spliced[] splicedAt; // a view's splices by the root index of their target; null in a root
    private final Set<HookPoint> read; // root points whose activation a splice of this view reads
    private final ThreadLocal<Scope> innermost = new ThreadLocal<>();
    private final Object lock = new Object();
    private final Set<Scope> openScopes = new HashSet<>(); // guarded by lock
    private List<Attachment> attachments = List.of(); // guarded by lock; replaced, never changed
    private volatile AttachedHooks hooks;

    /**
     * One model-level hook (its spec and the points it resolved to) or splice (then {@code spec} is
     * null), and what removes it.
     */
    private record Attachment(HookSpec spec, List<HookPoint> points, Splice splice, Scope scope, boolean permanent) {}

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
        this.root = this;
        this.capacity = index;
        this.splicedAt = null;
        this.read = Set.of();
        hooks = AttachedHooks.none(this, index);
    }

    /** A run's view of {@code root} with {@code splices} in place of their targets (checked by the caller). */
    private HookRegistry(HookRegistry root, List<Splice> splices) {
        this.root = root;
        this.whyNotFiring = root.whyNotFiring;
        this.splicedAt = new Spliced[root.capacity];
        Set<HookPoint> reads = new HashSet<>();
        Map<HookPoint, Splice> byTarget = new LinkedHashMap<>();
        for (Splice splice : splices) {
            byTarget.put(root.point(splice.target()), splice);
        }
        int index = root.capacity;
        for (HookPoint point : root.points.values()) {
            Splice splice = byTarget.get(point);
            if (splice == null) {
                points.put(point.name(), point);
                continue;
            }
            Map<String, HookPoint> own = new LinkedHashMap<>();
            for (String name : splice.hookNames()) {
                HookPoint sub = new HookPoint(splice.target() + "." + name);
                if (root.points.containsKey(sub.name()) || points.put(sub.name(), sub) != null) {
                    throw new LoupeException("Splice at " + splice.target() + " has a hook point " + sub.name()
                            + " whose name is already taken");
                }
                sub.register(this, index++);
                own.put(name, sub);
            }
            Map<String, HookPoint> reading = new LinkedHashMap<>();
            for (String name : splice.reads()) {
                HookPoint source = root.point(name);
                reading.put(name, source);
                reads.add(source);
            }
            splicedAt[point.index()] = new Spliced(splice, own, reading);
        }
        this.capacity = index;
        this.read = Set.copyOf(reads);
        hooks = null; // a view has no model-level hooks of its own: hooks() answers the root's
    }

    /** A splice in place of its target in a view: its own points by local name, and the points it reads. */
    record Spliced(Splice splice, Map<String, HookPoint> points, Map<String, HookPoint> reads) {
        /** Runs the splice on {@code activation} (the target's), firing its points in the current run. */
        NDArray forward(NDArray activation) {
            return splice.forward(activation, new Splice.Context() {
                @Override
                public NDArray fire(String name, NDArray x) {
                    HookPoint point = points.get(name);
                    if (point == null) {
                        throw new IllegalArgumentException("Splice at " + splice.target() + " has no hook point "
                                + name + "; its points are " + points.keySet());
                    }
                    return point.fire(x);
                }

                @Override
                public NDArray read(String name) {
                    HookPoint source = reads.get(name);
                    if (source == null) {
                        throw new IllegalArgumentException("Splice at " + splice.target() + " reads only "
                                + reads.keySet() + ", not " + name);
                    }
                    NDArray value = AttachedHooks.recorded(source);
                    if (value == null) {
                        throw new LoupeException("Splice at " + splice.target() + " reads " + name
                                + ", which had not fired before it in this run (it must come earlier in the forward pass)");
                    }
                    return value;
                }
            });
        }
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
            HookPoint replaced = root == this ? null : root.points.get(name);
            if (replaced != null && splicedAt[replaced.index()] != null) {
                throw new LoupeException("Hook point " + name + " is replaced by a splice in this run; hook one of "
                        + "its points instead: " + splicedAt[replaced.index()].points().values().stream()
                                .map(HookPoint::name).toList());
            }
            throw new UnknownHookException(name, closest(name, 5));
        }
        return point;
    }

    /** The model's registry: this one, or the one this spliced view was made from. */
    public HookRegistry root() {
        return root;
    }

    /** The splices of this view, in the model's order of their targets (none for a model's registry). */
    public List<Splice> splices() {
        if (splicedAt == null) {
            return List.of();
        }
        return Stream.of(splicedAt).filter(Objects::nonNull).map(Spliced::splice).toList();
    }

    /** How many hook point indices this registry uses (its root's points, then its splices' own). */
    int capacity() {
        return capacity;
    }

    /** The splice that replaces {@code point} in this view, or null. */
    Spliced splicedAt(HookPoint point) {
        return splicedAt != null && point.registry() == root ? splicedAt[point.index()] : null;
    }

    /** Whether a splice of this view reads {@code point}'s activation. */
    boolean isRead(HookPoint point) {
        return !read.isEmpty() && read.contains(point);
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
        return root == this ? hooks : root.hooks();
    }

    /**
     * The model-level hooks and splices now, with {@code extra} splices added for one run: an immutable
     * set over a view of this registry in which each splice's target is replaced by its own points.
     *
     * @throws LoupeException if a target is unknown, already spliced, or has a model-level hook
     */
    public AttachedHooks hooksWith(List<Splice> extra) {
        requireRoot();
        if (extra.isEmpty()) {
            return hooks;
        }
        synchronized (lock) {
            checkSplices(attachments, extra);
            return build(attachments, extra);
        }
    }

    /**
     * Splices {@code splice} in for the runs that start afterwards, in the calling thread's innermost open
     * scope (or until the next reset when it has none).
     *
     * @throws LoupeException if its target is unknown, already spliced, or has a model-level hook
     */
    public void addSplice(Splice splice) {
        requireRoot();
        synchronized (lock) {
            checkSplices(attachments, List.of(splice));
            attach(new Attachment(null, List.of(), splice, innermostOpen(), false));
        }
    }

    /**
     * Opens a scope on the calling thread, inside its innermost open scope if it has one; hooks that
     * this thread adds with {@link #add} go to it until it closes, and closing it removes them (and
     * closes the scopes opened inside it).
     */
    public Scope openScope() {
        requireRoot();
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
        requireRoot();
        synchronized (lock) {
            attach(new Attachment(spec, hooks.registry().resolve(spec), null, innermostOpen(), false));
        }
    }

    /** Attaches {@code spec} permanently: only {@code reset(true)} removes it. */
    public void addPermanent(HookSpec spec) {
        requireRoot();
        synchronized (lock) {
            attach(new Attachment(spec, hooks.registry().resolve(spec), null, null, true));
        }
    }

    /**
     * Removes every non-permanent hook (and permanent ones too if asked) and closes every open scope,
     * on every thread. Runs already under way keep the hooks they started with.
     */
    public void reset(boolean includingPermanent) {
        requireRoot();
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
        hooks = build(next, List.of());
    }

    /**
     * The hooks of {@code from} over a view with its splices and {@code extra} (over this registry when
     * there are none). A hook keeps the points it resolved to that the view still has (a splice's points
     * are found again by name); a filter hook also gets the splices' points it accepts.
     */
    private AttachedHooks build(List<Attachment> from, List<Splice> extra) {
        List<Splice> splices = new ArrayList<>();
        from.stream().map(Attachment::splice).filter(Objects::nonNull).forEach(splices::add);
        splices.addAll(extra);
        HookRegistry view = splices.isEmpty() ? this : new HookRegistry(this, splices);
        AttachedHooks.Builder builder = AttachedHooks.none(view, view.capacity).toBuilder();
        for (Attachment attachment : from) {
            if (attachment.spec() == null) {
                continue;
            }
            List<HookPoint> targets = new ArrayList<>();
            for (HookPoint point : attachment.points()) {
                HookPoint now = view.points.get(point.name());
                if (now != null && !targets.contains(now)) {
                    targets.add(now);
                }
            }
            if (attachment.spec().filter() != null) {
                for (HookPoint point : view.points.values()) {
                    if (point.registry() == view && attachment.spec().filter().test(point.name())
                            && !targets.contains(point)) {
                        targets.add(point);
                    }
                }
            }
            builder.add(attachment.spec(), targets);
        }
        return builder.build();
    }

    /** Refuses splices whose target is unknown, spliced twice, or hooked at model level. Holds the lock. */
    private void checkSplices(List<Attachment> from, List<Splice> extra) {
        Set<String> targets = new HashSet<>();
        from.stream().map(Attachment::splice).filter(Objects::nonNull).forEach(s -> targets.add(s.target()));
        for (Splice splice : extra) {
            point(splice.target());
            if (!targets.add(splice.target())) {
                throw new LoupeException("Two splices at " + splice.target() + ": a hook point can be replaced by one "
                        + "module at a time");
            }
        }
        for (Attachment attachment : from) {
            // A filter hook simply skips a replaced point; a hook that names one is refused.
            if (attachment.spec() != null && attachment.spec().name() != null) {
                String point = attachment.spec().name();
                if (targets.contains(point)) {
                    throw new LoupeException("Hook point " + point + " has a model-level hook, but a splice "
                            + "replaces it; remove the hook (resetHooks) or hook the splice's own points");
                }
            }
        }
    }

    private void requireRoot() {
        if (root != this) {
            throw new IllegalStateException("A run's spliced view of the hook points takes no hooks or scopes: "
                    + "attach them to the model's registry");
        }
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
