package dev.loupe.spark.harvest;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The row layouts of a harvest. A harvested row is one token: {@code group} (the corpus's documents
 * {@code [group·2048, (group+1)·2048)}, tokenized together as {@code TokenChunks} does), {@code chunk} (its index in
 * the group), {@code document} (the index in the corpus of the document the token belongs to; the EOS token in
 * front of a document belongs to it), {@code position} (in the chunk), {@code token} (its id), then one
 * {@code array<float>} per hook under its TransformerLens name (in Spark SQL quote it: {@code `blocks.0.hook_resid_post`}),
 * the hook's activation at that token flattened ([d_model], [n_heads·d_head], [n_heads·n_ctx] for attention patterns
 * read by query position, …). Sorting by group, chunk, position gives {@code TokenChunks}' order.
 */
public final class HarvestSchema {
    public static final String GROUP = "group";
    public static final String CHUNK = "chunk";
    public static final String DOCUMENT = "document";
    public static final String POSITION = "position";
    public static final String TOKEN = "token";
    /** A chunk's token ids [chunkSize] (chunk rows). */
    public static final String TOKENS = "tokens";
    /** The document of each token of a chunk [chunkSize] (chunk rows). */
    public static final String DOCUMENTS = "documents";
    /** A group's first document (group rows). */
    public static final String FIRST_DOCUMENT = "first_document";
    /** A group's texts (group rows). */
    public static final String TEXTS = "texts";
    /** The forward pass a chunk belongs to (chunk rows). */
    public static final String BATCH = "batch";

    /** A group of documents: group, first document, texts. */
    public static final StructType GROUPS = new StructType()
            .add(GROUP, DataTypes.IntegerType, false)
            .add(FIRST_DOCUMENT, DataTypes.LongType, false)
            .add(TEXTS, DataTypes.createArrayType(DataTypes.StringType, false), false);

    /** A chunk: group, chunk, batch, token ids, document of each token. */
    public static final StructType CHUNKS = new StructType()
            .add(GROUP, DataTypes.IntegerType, false)
            .add(CHUNK, DataTypes.IntegerType, false)
            .add(BATCH, DataTypes.IntegerType, false)
            .add(TOKENS, DataTypes.createArrayType(DataTypes.LongType, false), false)
            .add(DOCUMENTS, DataTypes.createArrayType(DataTypes.LongType, false), false);

    private HarvestSchema() {}

    /** The layout of harvested rows with one float array per hook of {@code hooks}, in that order. */
    public static StructType tokens(List<String> hooks) {
        List<StructField> fields = new ArrayList<>(List.of(
                DataTypes.createStructField(GROUP, DataTypes.IntegerType, false),
                DataTypes.createStructField(CHUNK, DataTypes.IntegerType, false),
                DataTypes.createStructField(DOCUMENT, DataTypes.LongType, false),
                DataTypes.createStructField(POSITION, DataTypes.IntegerType, false),
                DataTypes.createStructField(TOKEN, DataTypes.LongType, false)));
        for (String hook : hooks) {
            fields.add(DataTypes.createStructField(hook, DataTypes.createArrayType(DataTypes.FloatType, false), false));
        }
        return DataTypes.createStructType(fields);
    }

    /** The first column of a hook in a harvested row. */
    public static int firstHookColumn() {
        return 5;
    }
}
