package dev.loupe.hook;

import ai.djl.ndarray.NDArray;
import dev.loupe.LoupeException;

/**
 * An identity on the forward path with a TransformerLens name ({@code blocks.3.attn.hook_pattern}).
 * Forward hooks attached to it run in the order they were added, each seeing the previous one's
 * result. With no hook attached, {@link #fire(NDArray)} returns its input and costs nothing.
 *
 * <p>A point holds no hooks itself: it fires those of the run going on in the calling thread (the
 * {@link AttachedHooks} the run bound), or, outside any run, the model-level hooks of its
 * {@link HookRegistry}. So one model can run on several threads at once, each run with its own hooks.
 */
public final class HookPoint {
    private final String name;
    private final int layer;
    private HookRegistry registry; // set once, when the model's registry is built
    private int index = -1;

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

    /**
     * Whether firing this point can do anything: a forward hook is attached, a splice replaces it or reads
     * it (for the run going on in this thread, else at model level). Components skip work for a point
     * without hooks.
     */
    public boolean hasHooks() {
        if (registry == null) {
            return false;
        }
        AttachedHooks attached = AttachedHooks.current(registry);
        HookRegistry view = attached.registry();
        return attached.forward(this).length > 0 || view.splicedAt(this) != null || view.isRead(this);
    }

    /** Whether any backward hook is attached (for the run going on in this thread, else at model level). */
    public boolean hasBackwardHooks() {
        return registry != null && AttachedHooks.current(registry).backward(this).length > 0;
    }

    /**
     * Runs every attached hook on {@code activation}, in order.
     *
     * @throws LoupeException if a hook returns a tensor of another shape or dtype, naming both
     */
    public NDArray fire(NDArray activation) {
        if (registry == null) {
            return activation;
        }
        AttachedHooks attached = AttachedHooks.current(registry);
        HookRegistry view = attached.registry();
        HookRegistry.Spliced spliced = view.splicedAt(this);
        NDArray current = activation;
        if (spliced != null) {
            current = spliced.forward(activation); // the point is replaced: its module fires its own points
            check(activation, current);
        } else {
            for (Hook hook : attached.forward(this)) {
                NDArray result = hook.apply(current, this);
                if (result != null && result != current) {
                    check(current, result);
                    current = result;
                }
            }
        }
        if (view.isRead(this)) {
            AttachedHooks.record(this, current);
        }
        return current;
    }

    /**
     * Gives {@code gradient} (d metric / d this activation) to every backward hook, each a copy of
     * its own so that no hook can change what another sees.
     */
    public void fireBackward(NDArray gradient) {
        if (registry == null) {
            return;
        }
        for (BackwardHook hook : AttachedHooks.current(registry).backward(this)) {
            try (NDArray copy = gradient.duplicate()) {
                hook.accept(copy, this);
            }
        }
    }

    /** The registry this point belongs to, or null before one was built. */
    HookRegistry registry() {
        return registry;
    }

    /** Its position in its registry. */
    int index() {
        return index;
    }

    void register(HookRegistry owner, int position) {
        if (registry != null) {
            throw new IllegalStateException("Hook point " + name + " already belongs to a model");
        }
        registry = owner;
        index = position;
    }

    private void check(NDArray activation, NDArray result) {
        if (result == null) {
            throw new LoupeException("The splice at " + name + " returned null; it must return the activation to continue with");
        }
        if (!activation.getShape().equals(result.getShape())) {
            throw new LoupeException("Hook on " + name + " returned a tensor of shape " + result.getShape()
                    + " but the activation has shape " + activation.getShape()
                    + "; return a tensor of the same shape (or null to keep the activation).");
        }
        if (activation.getDataType() != result.getDataType()) {
            throw new LoupeException("Hook on " + name + " returned a tensor of dtype " + result.getDataType()
                    + " but the activation has dtype " + activation.getDataType()
                    + "; return a tensor of the same dtype (convert it with toType(DataType."
                    + activation.getDataType().name() + ", false)), or null to keep the activation.");
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
        if (registry == null) {
            return "HookPoint(" + name + ")";
        }
        AttachedHooks hooks = AttachedHooks.current(registry);
        return "HookPoint(" + name + ", " + hooks.forward(this).length + " forward, " + hooks.backward(this).length
                + " backward hooks)";
    }
}
