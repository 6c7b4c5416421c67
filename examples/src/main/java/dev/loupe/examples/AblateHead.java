package dev.loupe.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import java.nio.file.Path;
import java.util.List;

/**
 * Zero-ablates each head of the shipped induction model in turn and prints how much the mean loss on a repeated
 * random sequence rises: the induction heads (layer 1) and the previous-token head (layer 0) stand out.
 */
public final class AblateHead {
    private AblateHead() {}

    public static void main(String[] args) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Path.of(RepeatedTokens.INDUCTION_MODEL));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = RepeatedTokens.of(manager, 20, model.config().dVocab(), 1, null);  // [1, 41]
            float clean = model.loss(tokens).getFloat();
            System.out.printf("clean loss %.3f%n", clean);
            ForwardOptions loss = ForwardOptions.builder().returnType(ReturnType.LOSS).build();
            for (int layer = 0; layer < model.config().nLayers(); layer++) {
                for (int head = 0; head < model.config().nHeads(); head++) {
                    int h = head;
                    HookSpec zeroHead = HookSpec.forward("blocks." + layer + ".attn.hook_z",  // z [batch, pos, head, d_head]
                            (z, hook) -> { z.set(new NDIndex(":, :, " + h), 0f); return z; });
                    try (ModelOutput out = model.runWithHooks(tokens, loss, List.of(zeroHead))) {
                        float ablated = out.loss().getFloat();
                        System.out.printf("L%dH%d ablated: loss %.3f (%+.3f)%n", layer, head, ablated, ablated - clean);
                    }
                }
            }
        }
    }
}
