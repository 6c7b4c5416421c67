package dev.loupe.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

class LocalSessionTest {
    @Test
    void aLocalSessionSumsOnThisJdk() {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("smoke")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            Dataset<Long> numbers = spark.range(0, 1000, 1, 4).as(Encoders.LONG());
            List<Long> sum = numbers.groupBy().sum("id").as(Encoders.LONG()).collectAsList();
            assertThat(sum).containsExactly(499500L);
        } finally {
            spark.stop();
        }
    }
}
