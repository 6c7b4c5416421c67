/**
 * What every command shares: {@link dev.loupe.cli.support.LoupeCommand} (the base class: one-line
 * errors, never a stack trace, and stopping at safe points), {@link dev.loupe.cli.support.ModelOptions}
 * (the {@code --model}, {@code --no-processing} and {@code --dtype} options and the one loading rule),
 * {@link dev.loupe.cli.support.OutputCheck} (no output over an input or inside a model or lens folder
 * the command reads), {@link dev.loupe.cli.support.SignalStop} (SIGINT, SIGTERM and SIGHUP request the
 * command's {@code dev.loupe.stop.StopSignal}, and the JVM exits only once the command stopped at a
 * safe point), {@link dev.loupe.cli.support.Table} (aligned text tables),
 * {@link dev.loupe.cli.support.TokenInput} (token ids from a safetensors file),
 * {@link dev.loupe.cli.support.SaeOption} (an {@code --sae} value: a folder or a released SAE's RELEASE/ID) and
 * {@link dev.loupe.cli.support.LoupeVersion}.
 *
 * <p>Floor "what commands share", the bottom of loupe-cli: it may use the library modules only.
 * Anything one command alone needs stays in that command's file.
 */
package dev.loupe.cli.support;
