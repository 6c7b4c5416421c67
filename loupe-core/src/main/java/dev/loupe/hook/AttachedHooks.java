package dev.loupe.hook;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable set of hooks for the hook points of one {@link HookRegistry}: the forward and backward
 * hooks of each point, in the order they were added. The registry publishes a new set whenever its
 * model-level hooks change ({@link HookRegistry#hooks()}); a run starts from that set, adds its own
 * hooks ({@link #toBuilder()}) and {@link #bind() binds} the result to its thread for as long as it
 * computes, so that what one run attaches is seen by that run alone.
 *
 * <p>{@link HookPoint#fire} consults the set bound to the calling thread for the point's registry,
 * and the registry's current set when none is bound (a component called outside any run, such as
 * {@code model.unembed(x)}).
 */
public final class AttachedHooks {
    private static final Hook[] NO_HOOKS = {};
    private static final BackwardHook[] NO_BACKWARD_HOOKS = {};
    private static final ThreadLocal<Binding> BOUND = new ThreadLocal<>();

    private final HookRegistry registry;
    private final Hook[][] forward; // by HookPoint.index()
    private final BackwardHook[][] backward;

    private AttachedHooks(HookRegistry registry, Hook[][] forward, BackwardHook[][] backward) {
        this.registry = registry;
        this.forward = forward;
        this.backward = backward;
    }

    /** No hook on any point of {@code registry} (a model's, or a spliced view of one). */
    static AttachedHooks none(HookRegistry registry, int points) {
        Hook[][] forward = new Hook[points][];
        BackwardHook[][] backward = new BackwardHook[points][];
        Arrays.fill(forward, NO_HOOKS);
        Arrays.fill(backward, NO_BACKWARD_HOOKS);
        return new AttachedHooks(registry, forward, backward);
    }

    /** The registry whose points these hooks are for. */
    public HookRegistry registry() {
        return registry;
    }

    /** The forward hooks of {@code point}, in order (an empty array when none; do not change it). */
    Hook[] forward(HookPoint point) {
        return owns(point) ? forward[point.index()] : NO_HOOKS;
    }

    /** The backward hooks of {@code point}, in order (an empty array when none; do not change it). */
    BackwardHook[] backward(HookPoint point) {
        return owns(point) ? backward[point.index()] : NO_BACKWARD_HOOKS;
    }

    /** Whether {@code point} is one of the model's points or one of this view's splices' points. */
    private boolean owns(HookPoint point) {
        HookRegistry owner = point.registry();
        return owner == registry || owner == registry.root();
    }

    /** Whether {@code point} has a forward hook in this set. */
    public boolean hasForward(HookPoint point) {
        return forward(point).length > 0;
    }

    /** Whether {@code point} has a backward hook in this set. */
    public boolean hasBackward(HookPoint point) {
        return backward(point).length > 0;
    }

    /** A builder that starts from these hooks; what it adds runs after them. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Makes these the hooks that the points of {@link #registry()} fire on the calling thread, until
     * the returned binding is closed (on the same thread); bindings nest, and closing one restores
     * the set bound before it.
     */
    public Binding bind() {
        Binding binding = new Binding(this, BOUND.get());
        BOUND.set(binding);
        return binding;
    }

    /** The hooks the points of {@code registry} fire on the calling thread now. */
    static AttachedHooks current(HookRegistry registry) {
        Binding bound = BOUND.get();
        return bound != null && bound.hooks.registry.root() == registry.root() ? bound.hooks : registry.hooks();
    }

    /** Keeps {@code activation} as what {@code point} gave in the run bound to this thread (for splices that read it). */
    static void record(HookPoint point, NDArray activation) {
        Binding bound = BOUND.get();
        if (bound != null && bound.hooks.registry.root() == point.registry().root()) {
            bound.recorded.put(point, activation);
        }
    }

    /** What {@code point} gave in the run bound to this thread ({@link #record}), or null. */
    static NDArray recorded(HookPoint point) {
        Binding bound = BOUND.get();
        return bound == null ? null : bound.recorded.get(point);
    }

    /**
     * Undoes one {@link #bind()}. While it is bound it also keeps, for the splices of its run, the
     * activations of the points they read.
     */
    public static final class Binding implements AutoCloseable {
        private final AttachedHooks hooks;
        private final Binding previous;
        private final Map<HookPoint, NDArray> recorded = new HashMap<>();
        private final Thread thread = Thread.currentThread();
        private boolean closed;

        private Binding(AttachedHooks hooks, Binding previous) {
            this.hooks = hooks;
            this.previous = previous;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            if (Thread.currentThread() != thread) {
                throw new IllegalStateException("A hook binding must be closed on the thread that made it");
            }
            closed = true;
            recorded.clear();
            if (previous == null) {
                BOUND.remove();
            } else {
                BOUND.set(previous);
            }
        }
    }

    /** Adds hooks to a copy of a set; the set it started from does not change. */
    public static final class Builder {
        private final AttachedHooks from;
        private final Map<Integer, List<Hook>> forward = new HashMap<>(); // only the points given hooks
        private final Map<Integer, List<BackwardHook>> backward = new HashMap<>();

        private Builder(AttachedHooks from) {
            this.from = from;
        }

        /** Attaches {@code spec} to every point it resolves to ({@link HookRegistry#resolve(HookSpec)}). */
        public Builder add(HookSpec spec) {
            return add(spec, from.registry.resolve(spec));
        }

        /** Attaches {@code spec}'s hook to {@code points} (already resolved, all of this builder's registry). */
        public Builder add(HookSpec spec, List<HookPoint> points) {
            for (HookPoint point : points) {
                if (!from.owns(point)) {
                    throw new IllegalArgumentException("Hook point " + point.name() + " belongs to another model");
                }
                int index = point.index();
                if (spec.isBackward()) {
                    backward.computeIfAbsent(index, i -> new ArrayList<>(List.of(from.backward[i]))).add(spec.backward());
                } else {
                    forward.computeIfAbsent(index, i -> new ArrayList<>(List.of(from.forward[i]))).add(spec.forward());
                }
            }
            return this;
        }

        /** The set. */
        public AttachedHooks build() {
            if (forward.isEmpty() && backward.isEmpty()) {
                return from;
            }
            Hook[][] f = from.forward.clone();
            BackwardHook[][] b = from.backward.clone();
            forward.forEach((index, hooks) -> f[index] = hooks.toArray(NO_HOOKS));
            backward.forEach((index, hooks) -> b[index] = hooks.toArray(NO_BACKWARD_HOOKS));
            return new AttachedHooks(from.registry, f, b);
        }
    }
}
