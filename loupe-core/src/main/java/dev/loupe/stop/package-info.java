/**
 * Stopping a long run cleanly: {@link dev.loupe.stop.StopSignal}, a request to stop that a loop
 * polls at its <em>safe points</em> (between optimizer steps, forward passes, generated tokens:
 * never while a thread is inside libtorch), and {@link dev.loupe.stop.StoppedException}, which a
 * loop throws there, saying how far it got.
 *
 * <p>Who requests and who polls. Whoever runs the loop binds a signal to its thread
 * ({@code try (StopSignal.Binding bound = signal.bind()) { ... }}) and requests it from anywhere
 * (another thread, a signal handler, a server's cancel call); the command line's
 * {@code dev.loupe.cli.support.SignalStop} does this for every command on SIGINT, SIGTERM and SIGHUP,
 * and then waits for the command to reach a safe point before the JVM exits. A loop takes
 * {@link dev.loupe.stop.StopSignal#current()} once, on the thread that called it, and polls it once
 * per iteration:
 *
 * <pre>{@code
 * StopSignal stop = StopSignal.current();
 * for (long step = first; step < total; step++) {
 *     long done = step;
 *     stop.check(() -> "after step " + done + " of " + total);  // throws StoppedException when requested
 *     ...  // one step: libtorch runs here, never interrupted
 * }
 * }</pre>
 *
 * <p>A loop that can keep its work (a trainer with a checkpoint folder) saves it before throwing,
 * and says where in the message; nothing else is written after a stop, so outputs are whole or
 * absent. Loops today: {@code ToyTrainer}, {@code TunedLensTrainer} (between forward passes and
 * steps), {@code LensEvaluator} (between batches), {@code Generator} (between tokens); the commands
 * of {@code loupe-cli} poll between their passes too. An API user who binds nothing gets a signal
 * that is never requested, and loops run to the end.
 *
 * <p>Floor "errors, names and stop signals", the lowest of {@code FloorPlan}, beside {@code dev.loupe}: it uses
 * no other Loupe package and no DJL, so that every loop of every floor can poll it.
 */
package dev.loupe.stop;
