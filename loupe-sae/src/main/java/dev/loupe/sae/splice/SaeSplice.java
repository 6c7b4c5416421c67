package dev.loupe.sae.splice;

import ai.djl.ndarray.NDArray;
import dev.loupe.LoupeException;
import dev.loupe.hook.Splice;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeHooks;
import java.util.ArrayList;
import java.util.List;

/**
 * An SAE spliced into a model. An SAE at hook H ({@code metadata.hook_name}) replaces H's activation x with its
 * output, and its hook points take H's place: {@code H.hook_sae_input}, {@code H.hook_sae_acts_pre},
 * {@code H.hook_sae_acts_post}, {@code H.hook_sae_recons}, with the error term {@code H.hook_sae_error}, and
 * {@code H.hook_sae_output}; H itself leaves the run's hook points, as in SAELens. Without the error term the
 * model continues with decode(encode(x)); with it, with decode(hooked acts) + (x − decode(encode(x))), the
 * error computed in a second pass with the SAE's hooks off.
 *
 * <p>A transcoder reads the activation at its {@code hook_name} (the MLP's input) and replaces the one at
 * {@code hook_name_out} (the MLP's output), so its points are named after the latter
 * ({@code blocks.0.hook_mlp_out.hook_sae_acts_post}): input, acts_pre, acts_post, recons and, with the error
 * term (the real MLP output minus the clean reconstruction), error. SAELens's own splice cannot do this: it
 * puts any SAE at {@code hook_name}.
 *
 * <p>SAELens's {@code blocks.{l}.mlp.hook_in} (the MLP's input, a point of its {@code HookedSAETransformer}) is
 * Loupe's {@code blocks.{l}.ln2.hook_normalized}: an SAE there replaces that point, and its own points are named
 * after it ({@code blocks.0.ln2.hook_normalized.hook_sae_acts_post}).
 */
public final class SaeSplice implements Splice {
    private final Sae sae;
    private final boolean useErrorTerm;
    private final List<String> hookNames;

    /**
     * @param sae the SAE (it must have a {@code hook_name}; a transcoder also a {@code hook_name_out})
     * @param useErrorTerm whether the output adds the SAE's error, so that only edits change the model
     */
    public SaeSplice(Sae sae, boolean useErrorTerm) {
        if (sae.hookName() == null) {
            throw new LoupeException("The SAE's cfg.json has no metadata.hook_name: Loupe cannot tell where to splice it");
        }
        if (sae.isTranscoder() && sae.cfg().hookNameOut() == null) {
            throw new LoupeException("The transcoder's cfg.json has no metadata.hook_name_out: Loupe cannot tell which "
                    + "activation it replaces");
        }
        this.sae = sae;
        this.useErrorTerm = useErrorTerm;
        List<String> names = new ArrayList<>(List.of(Sae.HOOK_INPUT, Sae.HOOK_ACTS_PRE, Sae.HOOK_ACTS_POST, Sae.HOOK_RECONS));
        if (useErrorTerm) {
            names.add(Sae.HOOK_ERROR);
        }
        if (!sae.isTranscoder()) {
            names.add(Sae.HOOK_OUTPUT);
        }
        this.hookNames = List.copyOf(names);
    }

    /** The SAE. */
    public Sae sae() {
        return sae;
    }

    /** Whether the error term is added. */
    public boolean useErrorTerm() {
        return useErrorTerm;
    }

    @Override
    public String target() {
        return sae.isTranscoder() ? sae.cfg().hookNameOut() : sae.hookPoint();
    }

    @Override
    public List<String> hookNames() {
        return hookNames;
    }

    @Override
    public List<String> reads() {
        return sae.isTranscoder() ? List.of(sae.hookPoint()) : List.of();
    }

    @Override
    public NDArray forward(NDArray activation, Context context) {
        SaeHooks hooks = context::fire;
        if (sae.isTranscoder()) {
            return sae.transcode(context.read(sae.hookPoint()), activation, hooks, useErrorTerm);
        }
        return sae.forward(activation, hooks, useErrorTerm);
    }

    @Override
    public String toString() {
        return "SaeSplice(" + sae.cfg().architecture().jsonName() + " at " + target() + (useErrorTerm ? ", error term)" : ")");
    }
}
