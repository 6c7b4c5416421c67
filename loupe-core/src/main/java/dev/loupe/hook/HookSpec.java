package dev.loupe.hook;

import java.util.Objects;
import java.util.function.Predicate;

/**
 * A hook and where it goes: one exact hook name, or every hook name a predicate accepts.
 * Forward specs carry a {@link Hook}, backward specs a {@link BackwardHook}.
 *
 * <pre>{@code
 * HookSpec.forward("blocks.0.attn.hook_z", (z, point) -> z.mul(0));
 * HookSpec.forward(name -> name.endsWith("hook_pattern"), (p, point) -> { ...; return null; });
 * HookSpec.backward("blocks.1.hook_resid_post", (grad, point) -> ...);
 * }</pre>
 *
 * @param name the exact hook name, or null when {@code filter} is used
 * @param filter a predicate over hook names, or null when {@code name} is used
 * @param forward the forward hook (null for a backward spec)
 * @param backward the backward hook (null for a forward spec)
 */
public record HookSpec(String name, Predicate<String> filter, Hook forward, BackwardHook backward) {

    public HookSpec {
        if ((name == null) == (filter == null)) {
            throw new IllegalArgumentException("A hook spec needs exactly one of a name or a filter");
        }
        if ((forward == null) == (backward == null)) {
            throw new IllegalArgumentException("A hook spec needs exactly one of a forward or a backward hook");
        }
    }

    /** A forward hook on one hook point. */
    public static HookSpec forward(String name, Hook hook) {
        return new HookSpec(Objects.requireNonNull(name), null, Objects.requireNonNull(hook), null);
    }

    /** A forward hook on every hook point whose name {@code filter} accepts. */
    public static HookSpec forward(Predicate<String> filter, Hook hook) {
        return new HookSpec(null, Objects.requireNonNull(filter), Objects.requireNonNull(hook), null);
    }

    /** A backward hook on one hook point. */
    public static HookSpec backward(String name, BackwardHook hook) {
        return new HookSpec(Objects.requireNonNull(name), null, null, Objects.requireNonNull(hook));
    }

    /** A backward hook on every hook point whose name {@code filter} accepts. */
    public static HookSpec backward(Predicate<String> filter, BackwardHook hook) {
        return new HookSpec(null, Objects.requireNonNull(filter), null, Objects.requireNonNull(hook));
    }

    /** Whether this spec is a backward hook. */
    public boolean isBackward() {
        return backward != null;
    }
}
