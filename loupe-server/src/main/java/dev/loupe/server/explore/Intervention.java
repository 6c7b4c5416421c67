package dev.loupe.server.explore;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.LoupeException;
import dev.loupe.hook.HookSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * One ablation a request asks for, turned into a forward hook.
 *
 * @param kind zero or mean
 * @param target a head, a layer's MLP, or the residual stream at one position
 * @param layer the block
 * @param head the head (for {@link AblationTarget#HEAD}), else null
 * @param position the position (for {@link AblationTarget#RESID}), else null
 */
public record Intervention(AblationKind kind, AblationTarget target, int layer, Integer head, Integer position) {

    /** The hooks of {@code interventions} (null: none), checked against the model and the prompt's length. */
    public static List<HookSpec> hooks(List<Intervention> interventions, ServedModel served, int pos, Limits limits) {
        if (interventions == null) {
            return List.of();
        }
        if (interventions.size() > limits.maxInterventions()) {
            throw new LoupeException(interventions.size() + " interventions; at most " + limits.maxInterventions()
                    + " per request");
        }
        List<HookSpec> hooks = new ArrayList<>();
        for (Intervention i : interventions) {
            if (i == null || i.kind() == null || i.target() == null) {
                throw new LoupeException("Each intervention needs \"kind\" (zero or mean), \"target\" (head, mlp or"
                        + " resid) and \"layer\"");
            }
            hooks.add(i.hook(served, pos));
        }
        return hooks;
    }

    /** The forward hook that ablates this activation. */
    public HookSpec hook(ServedModel served, int pos) {
        var config = served.model().config();
        if (layer < 0 || layer >= config.nLayers()) {
            throw new LoupeException("Layer " + layer + " does not exist: " + served.name() + " has layers 0.."
                    + (config.nLayers() - 1));
        }
        NDIndex slice = switch (target) {
            case HEAD -> {
                if (head == null || head < 0 || head >= config.nHeads()) {
                    throw new LoupeException("Head " + head + " does not exist: " + served.name() + " has heads 0.."
                            + (config.nHeads() - 1) + " in each layer");
                }
                yield new NDIndex(":, :, {}", head);
            }
            case MLP -> {
                if (config.attnOnly()) {
                    throw new LoupeException(served.name() + " is attention-only: it has no MLP to ablate; ablate a"
                            + " head or a residual position");
                }
                yield new NDIndex(":, :");
            }
            case RESID -> {
                if (position == null || position < 0 || position >= pos) {
                    throw new LoupeException("Position " + position + " is outside the prompt's 0.." + (pos - 1));
                }
                yield new NDIndex(":, {}", position);
            }
        };
        String name = target.hookName(layer);
        return HookSpec.forward(name, (activation, point) -> {
            if (kind == AblationKind.ZERO) {
                activation.set(slice, 0f);
            } else {
                // The mean over positions of what this prompt puts there [batch, 1, ...], spread back over them.
                NDArray mean = activation.mean(new int[] {1}, true).broadcast(activation.getShape()).get(slice);
                activation.set(slice, mean);
            }
            return activation;
        });
    }
}
