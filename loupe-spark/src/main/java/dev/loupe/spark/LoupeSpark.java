package dev.loupe.spark;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Loupe's Spark session: an embedded {@code local[*]} one by default (nothing to install), or a cluster's
 * ({@code spark://host:7077}, {@code yarn}, …) when a master is given. Spark's web UI is off unless asked for.
 */
public final class LoupeSpark {
    private LoupeSpark() {}

    /**
     * The session for {@code master} (null: the one {@code spark-submit} gave, else {@code local[*]}), created if this
     * JVM has none.
     */
    public static SparkSession session(String master, String appName) {
        return session(master, appName, Map.of());
    }

    /**
     * As {@link #session(String, String)} with Spark settings {@code conf} on top (e.g. {@code spark.jars}: the job jar
     * a cluster's executors fetch from the driver).
     */
    public static SparkSession session(String master, String appName, Map<String, String> conf) {
        SparkSession.Builder builder = SparkSession.builder().appName(appName)
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false");
        if (master != null) {
            builder.master(master);
        } else if (System.getProperty("spark.master") == null) {
            builder.master("local[*]");
        }
        conf.forEach(builder::config);
        return builder.getOrCreate();
    }
}
