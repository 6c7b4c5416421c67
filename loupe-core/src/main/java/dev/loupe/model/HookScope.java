package dev.loupe.model;

import dev.loupe.hook.HookRegistry;

/** Hooks attached by {@link HookedTransformer#hooks}; closing the scope removes exactly them. */
public final class HookScope implements AutoCloseable {
    private final HookRegistry registry;
    private final int level;
    private boolean closed;

    HookScope(HookRegistry registry, int level) {
        this.registry = registry;
        this.level = level;
    }

    /** The scope's nesting level (1 for the outermost). */
    public int level() {
        return level;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            registry.exitScope(level);
        }
    }
}
