package dev.loupe;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** Suggestions for a mistyped name: the candidates closest to it by edit distance. */
public final class ClosestNames {
    private ClosestNames() {}

    /** The {@code n} candidates closest to {@code name}, closest first (ties in natural order). */
    public static List<String> of(String name, Collection<String> candidates, int n) {
        return candidates.stream()
                .sorted(Comparator.comparingInt((String candidate) -> editDistance(name, candidate))
                        .thenComparing(Comparator.naturalOrder()))
                .limit(n)
                .toList();
    }

    /** Levenshtein distance; only computed when reporting a missing name. */
    public static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
