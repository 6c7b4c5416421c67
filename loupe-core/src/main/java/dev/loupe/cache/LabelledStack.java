package dev.loupe.cache;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * Components of the residual stream stacked on a new first axis, with a label for each.
 *
 * @param stack [components, batch, pos, d_model] (fewer axes after position or batch slicing)
 * @param labels one per component: "0_pre", "embed", "1_attn_out", "L1H2", "remainder", …
 */
public record LabelledStack(NDArray stack, List<String> labels) {}
