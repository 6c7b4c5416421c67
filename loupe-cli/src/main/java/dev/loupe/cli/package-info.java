/**
 * The {@code loupe} command: {@link dev.loupe.cli.Main} alone, which lists the commands and turns
 * usage errors into one-line messages.
 *
 * <p>Floor "the command line", the top of loupe-cli: it may use every floor below (the commands,
 * the demo, what commands share, and every library module). A command itself does not belong here
 * but in {@code dev.loupe.cli.command}; code commands share goes to {@code dev.loupe.cli.support}.
 */
package dev.loupe.cli;
