/**
 * What every package of Loupe needs: {@link dev.loupe.LoupeException}, the base of every error
 * Loupe raises on bad input (its message names the problem and the fix);
 * {@link dev.loupe.CheckpointException} for a model folder or checkpoint that cannot be read; and
 * {@link dev.loupe.ClosestNames}, which suggests the nearest valid names for a mistyped one.
 *
 * <p>Floor "errors, names and stop signals", the lowest of {@code FloorPlan}, shared with
 * {@code dev.loupe.stop} (how long loops stop at safe points): it uses no other Loupe package,
 * so that every package can use it. An error that only one package raises goes in that package
 * ({@code dev.loupe.hook.UnknownHookException}, {@code dev.loupe.hub.HubException},
 * {@code dev.loupe.lens.LensMismatchException}); only what many floors share belongs here.
 */
package dev.loupe;
