package dev.loupe.server.explore;

/**
 * One entry of {@code GET /api/v1/models}.
 *
 * @param name what requests name it by
 * @param tokenizer whether it takes text (else token ids 0..d_vocab-1)
 * @param tunedLens whether a tuned lens was loaded with it
 * @param mlp whether its blocks have MLPs (attention-only models have none to ablate)
 */
public record ModelInfo(String name, int nLayers, int nHeads, int dModel, int dVocab, int nCtx, boolean tokenizer,
        boolean tunedLens, boolean mlp) {}
