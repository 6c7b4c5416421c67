/**
 * One file per {@code loupe} command ({@code demo}, {@code hooks}, {@code cache}, {@code generate},
 * {@code lens …}, {@code view …}, {@code shell}, {@code train toy}, {@code download}): each parses its
 * options with picocli, loads its model through {@link dev.loupe.cli.support.ModelOptions} (processed
 * weights unless {@code --no-processing} or a lens asks for its own basis), calls the library and
 * prints or writes the result. A subcommand group ({@code lens}, {@code view}, {@code train}) is a
 * command whose subcommands are the files beside it.
 *
 * <p>Floor "the commands": it may use the demo's parts, what commands share and the library modules.
 * Computation does not belong here: what a command computes is a library API first (loupe-core,
 * loupe-lens, loupe-viz), so that Java users get it too; options every command shares go to
 * {@code dev.loupe.cli.support}, and those a family of commands shares are a mixin beside them
 * ({@code ViewOptions}, {@code GenerationOptions}).
 */
package dev.loupe.cli.command;
