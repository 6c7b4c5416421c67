package dev.loupe.hook;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.List;

/**
 * An identity on the forward path with a TransformerLens name ({@code blocks.3.attn.hook_pattern}).
 * Forward hooks attached to it run in the order they were added, each seeing the previous one's
 * result. With no hook attached, {@link #fire(NDArray)} returns its input and costs nothing.
 */
public final class HookPoint {
    private final String name;
    private final int layer;
    private final List<Attached> hooks = new ArrayList<>();
    private final List<AttachedBackward> backwardHooks = new ArrayList<>();

    /** A hook with the scope level it was added at ({@code PERMANENT} survives every reset). */
    record Attached(Hook hook, int level) {}

    /** A backward hook with the scope level it was added at. */
    record AttachedBackward(BackwardHook hook, int level) {}

    /** The level of hooks that only {@code resetHooks(true)} removes. */
    static final int PERMANENT = -1;

    public HookPoint(String name) {
        this.name = name;
        this.layer = parseLayer(name);
    }

    /** The TransformerLens name, e.g. {@code blocks.0.attn.hook_z}. */
    public String name() {
        return name;
    }

    /** The block index this point belongs to, or -1 outside the blocks ({@code hook_embed}). */
    public int layer() {
        return layer;
    }

    /** Whether any forward hook is attached. */
    public boolean hasHooks() {
        return !hooks.isEmpty();
    }

    /** Whether any backward hook is attached. */
    public boolean hasBackwardHooks() {
        return !backwardHooks.isEmpty();
    }

    /**
     * Runs every attached hook on {@code activation}, in order.
     *
     * @throws LoupeException if a hook returns a tensor of another shape, naming both shapes
     */
    public NDArray fire(NDArray activation) {
        if (hooks.isEmpty()) {
            return activation;
        }
        NDArray current = activation;
        // Copy the list: a hook may add or remove hooks while it runs.
        for (Attached attached : List.copyOf(hooks)) {
            NDArray result = attached.hook().apply(current, this);
            if (result != null && result != current) {
                checkShape(current.getShape(), result);
                current = result;
            }
        }
        return current;
    }

    /**
     * Gives {@code gradient} (d metric / d this activation) to every backward hook, each a copy of
     * its own so that no hook can change what another sees.
     */
    public void fireBackward(NDArray gradient) {
        for (AttachedBackward attached : List.copyOf(backwardHooks)) {
            try (NDArray copy = gradient.duplicate()) {
                attached.hook().accept(copy, this);
            }
        }
    }

    void add(Hook hook, int level) {
        hooks.add(new Attached(hook, level));
    }

    void addBackward(BackwardHook hook, int level) {
        backwardHooks.add(new AttachedBackward(hook, level));
    }

    /** Removes the hooks added at {@code level} or deeper; permanent ones only if asked. */
    void removeFrom(int level, boolean includingPermanent) {
        hooks.removeIf(a -> a.level() == PERMANENT ? includingPermanent : a.level() >= level);
        backwardHooks.removeIf(a -> a.level() == PERMANENT ? includingPermanent : a.level() >= level);
    }

    private void checkShape(Shape expected, NDArray result) {
        if (!expected.equals(result.getShape())) {
            throw new LoupeException("Hook on " + name + " returned a tensor of shape " + result.getShape()
                    + " but the activation has shape " + expected
                    + "; return a tensor of the same shape (or null to keep the activation).");
        }
    }

    private static int parseLayer(String name) {
        if (!name.startsWith("blocks.")) {
            return -1;
        }
        int end = name.indexOf('.', 7);
        return Integer.parseInt(name.substring(7, end < 0 ? name.length() : end));
    }

    @Override
    public String toString() {
        return "HookPoint(" + name + ", " + hooks.size() + " forward, " + backwardHooks.size() + " backward hooks)";
    }
}
