/**
 * The parts of {@code loupe demo}: {@link dev.loupe.cli.demo.InductionDemo} (the loss on each half of
 * a repeated random sequence, every head's induction and previous-token score),
 * {@link dev.loupe.cli.demo.LogitLensTable} (the logit lens at one position) and
 * {@link dev.loupe.cli.demo.DemoReport} (the demo's HTML page of views).
 *
 * <p>Floor "the demo's sections and page": it may use what commands share and the library modules,
 * not the commands. Option parsing belongs to {@code dev.loupe.cli.command.DemoCommand}; a reusable
 * analysis belongs in loupe-core or loupe-lens.
 */
package dev.loupe.cli.demo;
