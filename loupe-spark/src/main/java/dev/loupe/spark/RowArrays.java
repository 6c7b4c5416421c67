package dev.loupe.spark;

import java.util.List;
import org.apache.spark.sql.Row;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Arrays out of rows. A row made by Loupe's own functions holds Java arrays ({@code long[]}, {@code float[]}); a row
 * that went through Spark's encoders (a shuffle, a file) holds Scala sequences: Spark may hand either to the next
 * function, so each read accepts both.
 */
public final class RowArrays {
    private RowArrays() {}

    /** Column {@code i} as {@code long[]}. */
    public static long[] longs(Row row, int i) {
        Object value = row.get(i);
        if (value instanceof long[] array) {
            return array;
        }
        List<Long> list = list(value);
        long[] out = new long[list.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = list.get(k);
        }
        return out;
    }

    /** Column {@code i} as {@code float[]}. */
    public static float[] floats(Row row, int i) {
        Object value = row.get(i);
        if (value instanceof float[] array) {
            return array;
        }
        List<Float> list = list(value);
        float[] out = new float[list.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = list.get(k);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> list(Object value) {
        if (value instanceof scala.collection.Seq<?> seq) {
            return (List<T>) CollectionConverters.asJava(seq);
        }
        return (List<T>) value;
    }
}
