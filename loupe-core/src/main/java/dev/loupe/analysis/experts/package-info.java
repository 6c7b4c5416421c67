/**
 * The routing of mixture-of-experts models (Mixtral): {@link dev.loupe.analysis.experts.ExpertRouting}
 * reads which experts each token went to, as an {@link dev.loupe.analysis.experts.ExpertChoice} per
 * layer (indices and weights [batch, pos, top_k], router probabilities [batch, pos, n_experts]), and
 * builds hooks that force chosen tokens to one expert or take an expert away from them.
 *
 * <p>Floor "uses of the model": it may use everything in loupe-core up to and including
 * {@code dev.loupe.model}, not the other packages of its floor. The mixture of experts itself is
 * {@code dev.loupe.model.components.MixtureOfExperts}.
 */
package dev.loupe.analysis.experts;
