package dev.loupe.server.explore;

/**
 * One predicted next token.
 *
 * @param id its id
 * @param text as the page shows it
 * @param prob its probability
 */
public record Prediction(long id, String text, float prob) {}
