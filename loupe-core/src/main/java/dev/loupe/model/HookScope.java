package dev.loupe.model;

import dev.loupe.hook.HookRegistry;

/**
 * Hooks attached by {@link HookedTransformer#hooks}; closing the scope removes exactly them (and the
 * hooks of scopes opened inside it on the same thread). While it is open its hooks apply to every run
 * that starts, on any thread; see {@link HookRegistry} for the rule.
 */
public final class HookScope implements AutoCloseable {
    private final HookRegistry.Scope scope;

    HookScope(HookRegistry.Scope scope) {
        this.scope = scope;
    }

    /** The scope's nesting level (1 for the outermost). */
    public int level() {
        return scope.level();
    }

    @Override
    public void close() {
        scope.close();
    }
}
