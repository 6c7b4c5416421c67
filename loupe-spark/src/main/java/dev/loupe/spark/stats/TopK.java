package dev.loupe.spark.stats;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/** The k best entries of each dimension of one hook seen so far: a bounded heap per dimension, mergeable. */
final class TopK implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int k;
    private final List<PriorityQueue<TopEntry>> heaps = new ArrayList<>();

    TopK(int k) {
        this.k = k;
    }

    TopK add(float[] values, int group, int chunk, int position) {
        while (heaps.size() < values.length) {
            heaps.add(new PriorityQueue<>(k + 1, TopEntry.BEST_FIRST.reversed()));
        }
        for (int d = 0; d < values.length; d++) {
            offer(heaps.get(d), new TopEntry(values[d], group, chunk, position));
        }
        return this;
    }

    TopK merge(TopK other) {
        while (heaps.size() < other.heaps.size()) {
            heaps.add(new PriorityQueue<>(k + 1, TopEntry.BEST_FIRST.reversed()));
        }
        for (int d = 0; d < other.heaps.size(); d++) {
            for (TopEntry entry : other.heaps.get(d)) {
                offer(heaps.get(d), entry);
            }
        }
        return this;
    }

    /** Each dimension's best entries, best first [width][≤ k]. */
    List<List<TopEntry>> best() {
        List<List<TopEntry>> out = new ArrayList<>();
        for (PriorityQueue<TopEntry> heap : heaps) {
            List<TopEntry> sorted = new ArrayList<>(heap);
            sorted.sort(TopEntry.BEST_FIRST);
            out.add(sorted);
        }
        return out;
    }

    private void offer(PriorityQueue<TopEntry> heap, TopEntry entry) {
        heap.add(entry);
        if (heap.size() > k) {
            heap.poll(); // the worst
        }
    }
}
