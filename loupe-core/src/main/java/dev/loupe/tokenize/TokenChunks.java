package dev.loupe.tokenize;

import dev.loupe.LoupeException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A corpus cut into sequences of one length, as the tuned-lens library's {@code chunk_and_tokenize}
 * cuts it: documents are taken in groups of 2,048, each group joined into one text that starts with
 * the EOS token and has EOS between documents, tokenized, and cut into chunks of {@code chunkSize}
 * tokens; the last chunk of each group is dropped (it is almost always short and nothing is padded).
 *
 * @param chunks token ids, each {@code chunkSize} long
 * @param natsToBitsPerByte (tokens ÷ UTF-8 bytes of the joined texts) ÷ ln 2: multiplies a loss in
 *     nats per token into bits per byte, the unit the library reports
 */
public record TokenChunks(List<long[]> chunks, double natsToBitsPerByte) {
    /** Documents per group, as the library's {@code datasets.map(batch_size=2048)}. */
    static final int DOCUMENTS_PER_GROUP = 2048;

    public TokenChunks {
        chunks = List.copyOf(chunks);
    }

    /** Tokenizes and chunks {@code documents}; refuses a corpus too small for a single chunk. */
    public static TokenChunks of(List<String> documents, Tokenizer tokenizer, int chunkSize) {
        if (chunkSize <= 0) {
            throw new LoupeException("The sequence length must be positive, got " + chunkSize);
        }
        List<long[]> chunks = new ArrayList<>();
        long tokens = 0;
        long bytes = 0;
        for (int start = 0; start < documents.size(); start += DOCUMENTS_PER_GROUP) {
            List<String> group = documents.subList(start, Math.min(documents.size(), start + DOCUMENTS_PER_GROUP));
            String joined = joinGroup(group, tokenizer);
            long[] ids = tokenizer.encode(joined);
            tokens += ids.length;
            bytes += joined.getBytes(StandardCharsets.UTF_8).length;
            chunks.addAll(cutGroup(ids, chunkSize));
        }
        if (chunks.isEmpty()) {
            throw new LoupeException("The data gives " + tokens + " tokens, not enough for one complete sequence of "
                    + chunkSize + " tokens (the last, partial one is dropped); give more text or a shorter"
                    + " sequence length");
        }
        return new TokenChunks(chunks, (double) tokens / bytes / Math.log(2));
    }

    /**
     * One group of at most {@value #DOCUMENTS_PER_GROUP} documents joined into the text that is tokenized: the EOS
     * token in front and between documents. Groups are independent, so a distributed harvest may cut each on its own.
     */
    public static String joinGroup(List<String> group, Tokenizer tokenizer) {
        String separator = tokenizer.eosToken() != null ? tokenizer.eosToken() : "<|endoftext|>";
        return separator + String.join(separator, group);
    }

    /** The chunks of one group's token ids: every chunk but the last, which is dropped even when it happens to be full. */
    public static List<long[]> cutGroup(long[] ids, int chunkSize) {
        List<long[]> chunks = new ArrayList<>();
        int complete = (ids.length + chunkSize - 1) / chunkSize - 1;
        for (int c = 0; c < complete; c++) {
            chunks.add(Arrays.copyOfRange(ids, c * chunkSize, (c + 1) * chunkSize));
        }
        return chunks;
    }

    /** Documents per group: the corpus's documents {@code [g·this, (g+1)·this)} form group {@code g}. */
    public static int documentsPerGroup() {
        return DOCUMENTS_PER_GROUP;
    }

    /** The number of tokens in the kept chunks. */
    public long tokenCount() {
        return (long) chunks.size() * chunkSize();
    }

    /** The length of every chunk. */
    public int chunkSize() {
        return chunks.get(0).length;
    }

    /**
     * {@code count} chunks from position {@code start} on, cycling past the end, flattened into
     * token ids [count × chunkSize] (a batch [count, chunkSize]).
     */
    public long[] batch(long start, int count) {
        int length = chunkSize();
        long[] tokens = new long[count * length];
        for (int i = 0; i < count; i++) {
            System.arraycopy(chunks.get((int) ((start + i) % chunks.size())), 0, tokens, i * length, length);
        }
        return tokens;
    }

    /** The chunks in an order fixed by {@code seed}. */
    public TokenChunks shuffled(long seed) {
        List<long[]> order = new ArrayList<>(chunks);
        Collections.shuffle(order, new Random(seed));
        return new TokenChunks(order, natsToBitsPerByte);
    }
}
