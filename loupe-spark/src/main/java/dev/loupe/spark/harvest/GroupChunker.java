package dev.loupe.spark.harvest;

import dev.loupe.spark.ExecutorModels;
import dev.loupe.tokenize.TokenChunks;
import dev.loupe.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import scala.collection.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * One group row ({@link HarvestSchema#GROUPS}) into its chunk rows ({@link HarvestSchema#CHUNKS}): the group's texts
 * joined and cut exactly as {@link TokenChunks#of} does, with the tokenizer of the executor's model.
 */
final class GroupChunker implements FlatMapFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final HarvestOptions options;

    GroupChunker(HarvestOptions options) {
        this.options = options;
    }

    @Override
    public Iterator<Row> call(Row group) {
        Tokenizer tokenizer = ExecutorModels.get(options.model()).tokenizer();
        List<String> texts = texts(group.get(2));
        long[] ids = tokenizer.encode(TokenChunks.joinGroup(texts, tokenizer));
        long[] documents = documentOfEachToken(ids, group.getLong(1), tokenizer.eosId());
        List<long[]> chunks = TokenChunks.cutGroup(ids, options.chunkSize());
        List<Row> rows = new ArrayList<>(chunks.size());
        int size = options.chunkSize();
        for (int c = 0; c < chunks.size(); c++) {
            long[] docs = Arrays.copyOfRange(documents, c * size, (c + 1) * size);
            rows.add(RowFactory.create(group.getInt(0), c, c / options.batchChunks(), chunks.get(c), docs));
        }
        return rows.iterator();
    }

    @SuppressWarnings("unchecked")
    private static List<String> texts(Object column) {
        if (column instanceof String[] array) {
            return List.of(array);
        }
        return CollectionConverters.asJava((Seq<String>) column);
    }

    // Each document starts with the EOS separator in front of it (a special token, never merged with text).
    private static long[] documentOfEachToken(long[] ids, long firstDocument, long eosId) {
        long[] documents = new long[ids.length];
        long document = firstDocument - 1;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == eosId) {
                document++;
            }
            documents[i] = Math.max(document, firstDocument);
        }
        return documents;
    }
}
