/**
 * What every command shares: {@link dev.loupe.cli.support.LoupeCommand} (the base class: one-line
 * errors, never a stack trace), {@link dev.loupe.cli.support.ModelOptions} (the {@code --model},
 * {@code --no-processing} and {@code --dtype} options and the one loading rule),
 * {@link dev.loupe.cli.support.Table} (aligned text tables), {@link dev.loupe.cli.support.TokenInput}
 * (token ids from a safetensors file) and {@link dev.loupe.cli.support.LoupeVersion}.
 *
 * <p>Floor "what commands share", the bottom of loupe-cli: it may use the library modules only.
 * Anything one command alone needs stays in that command's file.
 */
package dev.loupe.cli.support;
