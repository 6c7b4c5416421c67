package dev.loupe.spark.stats;

import java.io.Serializable;
import java.util.Comparator;

/**
 * One token's value of one neuron: its place (group, chunk, position) and the value. Ranked by value, largest first,
 * ties by place (earliest first), so that the top k never depend on the partitioning.
 */
record TopEntry(float value, int group, int chunk, int position) implements Serializable {
    /** Best first. */
    static final Comparator<TopEntry> BEST_FIRST = new BestFirst();

    /** The ranking, as a class so that Spark can ship the heaps it orders. */
    private static final class BestFirst implements Comparator<TopEntry>, Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public int compare(TopEntry a, TopEntry b) {
            int byValue = Float.compare(b.value, a.value);
            if (byValue != 0) {
                return byValue;
            }
            int byGroup = Integer.compare(a.group, b.group);
            if (byGroup != 0) {
                return byGroup;
            }
            int byChunk = Integer.compare(a.chunk, b.chunk);
            return byChunk != 0 ? byChunk : Integer.compare(a.position, b.position);
        }
    }
}
