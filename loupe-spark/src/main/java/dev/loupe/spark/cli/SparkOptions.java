package dev.loupe.spark.cli;

import dev.loupe.spark.LoupeSpark;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** Where a Spark command runs: {@code --master} and how many partitions its work is cut into. */
final class SparkOptions {
    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master: local[*] (default: embedded, nothing to install), local[N], spark://host:7077,"
                    + " yarn, ... Under spark-submit the submitted master is used.")
    String master;

    @Option(names = "--partitions", defaultValue = "8", paramLabel = "N",
            description = "Tasks the work is cut into (default: ${DEFAULT-VALUE}); a few per core of the cluster.")
    int partitions;

    @Option(names = "--conf", paramLabel = "KEY=VALUE",
            description = "A Spark setting, as spark-submit's --conf; e.g. spark.jars=loupe-spark/target/loupe-spark-job.jar"
                    + " ships Loupe to a cluster's executors.")
    Map<String, String> conf = new LinkedHashMap<>();

    SparkSession session(String appName) {
        return LoupeSpark.session(master, appName, conf);
    }
}
