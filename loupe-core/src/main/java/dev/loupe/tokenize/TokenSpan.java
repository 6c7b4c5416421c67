package dev.loupe.tokenize;

/**
 * One token and the part of the text it came from.
 *
 * @param id the token id
 * @param start index of its first character in the Java string (UTF-16 units)
 * @param end index after its last character
 */
public record TokenSpan(long id, int start, int end) {}
