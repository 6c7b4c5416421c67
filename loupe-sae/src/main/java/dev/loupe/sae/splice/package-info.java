/**
 * Splicing SAEs and transcoders into a {@code HookedTransformer}, as SAELens's {@code HookedSAETransformer}
 * does: {@link dev.loupe.sae.splice.SaeSplice} (one SAE in place of its hook point, with the SAE's hook
 * points; a transcoder in place of the MLP output it replaces), {@link dev.loupe.sae.splice.SaeRuns}
 * ({@code runWithSaes}, {@code runWithCacheWithSaes}, {@code runWithHooksWithSaes}, {@code withSaes}) and
 * {@link dev.loupe.sae.splice.ModelCompatibility} (the model an SAE was trained on: widths and weight processing).
 *
 * <p>Floor above {@code dev.loupe.sae}, below {@code dev.loupe.sae.eval}: it uses {@code dev.loupe.sae}, its
 * formats and loupe-core's model and {@link dev.loupe.hook.Splice} mechanism.
 */
package dev.loupe.sae.splice;
