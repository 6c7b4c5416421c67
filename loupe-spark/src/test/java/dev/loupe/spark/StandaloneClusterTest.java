package dev.loupe.spark;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.lens.TunedLens;
import dev.loupe.spark.cli.SparkMain;
import dev.loupe.spark.harvest.Harvest;
import dev.loupe.spark.harvest.HarvestOptions;
import dev.loupe.spark.lens.SparkLensTrainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A standalone cluster (a master and two workers, separate JVMs on 127.0.0.1): a harvest survives the loss of a
 * worker mid-job with no duplicate and no missing row, tuned-lens training on it equals one process, and the job jar
 * runs there both ways the README gives: {@code loupe spark harvest --master spark://... --conf spark.jars=JOB_JAR}
 * and {@code spark-submit ... JOB_JAR spark harvest ...} (Spark's {@code SparkSubmit} on Spark's jars alone).
 */
class StandaloneClusterTest {
    private static final String HOOKS = "blocks\\.1\\.hook_resid_post";

    @Test
    void aHarvestSurvivesALostWorkerAndLensTrainingEqualsOneProcess(@TempDir Path dir) throws Exception {
        HarvestOptions options = HarvestOptions.of(SparkTesting.MODEL, HOOKS, 16, 16).batchChunks(1);
        List<Row> localRows = sorted(Harvest.harvest(SparkTesting.session(), SparkTesting.documents(), options)
                .collectAsList());
        if (SparkSession.getDefaultSession().isDefined()) {
            SparkSession.getDefaultSession().get().stop(); // one SparkContext per JVM
        }
        try (StandaloneCluster cluster = new StandaloneCluster(dir, 2)) {
            SparkSession spark = SparkSession.builder().master(cluster.url()).appName("loupe-cluster-test")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.executor.memory", "512m")
                    .config("spark.executor.cores", "1")
                    .config("spark.cores.max", "2")
                    .config("spark.executor.extraClassPath", StandaloneCluster.loupeClassPath())
                    .config("spark.executor.extraJavaOptions", cluster.executorJavaOptions())
                    .getOrCreate();
            try {
                AtomicInteger removed = new AtomicInteger();
                AtomicInteger finished = new AtomicInteger();
                spark.sparkContext().addSparkListener(new SparkListener() {
                    @Override
                    public void onTaskEnd(SparkListenerTaskEnd end) {
                        if (finished.incrementAndGet() == 2) {
                            cluster.kill(0);
                        }
                    }

                    @Override
                    public void onExecutorRemoved(SparkListenerExecutorRemoved event) {
                        removed.incrementAndGet();
                    }
                });
                Path out = dir.resolve("harvest.parquet");
                Harvest.writeParquet(Harvest.harvest(spark, SparkTesting.documents(), options), out);
                List<Row> written = sorted(spark.read().parquet(out.toString()).collectAsList());
                assertThat(removed.get()).as("an executor was lost during the job").isPositive();
                assertThat(written).hasSameSizeAs(localRows).isEqualTo(localRows);

                try (TunedLens spread = TunedLens.create(ExecutorModels.get(LensReference.MODEL))) {
                    SparkLensTrainer.train(spark, LensReference.MODEL, spread, LensReference.data(),
                            LensReference.options().build(), 2, null);
                    double worst = LensReference.largestDifference(LensReference.twentySteps(), spread);
                    System.out.println("StandaloneClusterTest: largest lens parameter difference " + worst);
                    assertThat(worst).isLessThanOrEqualTo(1e-5);
                }
            } finally {
                spark.stop();
            }
            Path jobJar = Path.of(System.getProperty("loupe.test.jobJar", "target/loupe-spark-job.jar"));
            assertThat(jobJar).as("the job jar (mvn package builds it before the tests run)").isRegularFile();
            String[] harvest = {"spark", "harvest", "--model", SparkTesting.MODEL.model(), "--data",
                SparkTesting.corpusFile(dir).toString(), "--hooks", HOOKS, "--seq-len", "16", "--batch", "1",
                "--partitions", "4"};

            // The command line with --master spark://...: the driver here, the executors fetch the job jar from it.
            Path viaMaster = dir.resolve("via-master.parquet");
            int status = SparkMain.run(concat(harvest, "--master", cluster.url(), "--conf", "spark.jars=" + jobJar,
                    "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                    "--conf", "spark.executor.memory=512m",
                    "--conf", "spark.executor.extraJavaOptions=" + cluster.executorJavaOptions(),
                    "--out", viaMaster.toString()));
            SparkSession.active().stop();
            assertThat(status).as("loupe spark harvest --master " + cluster.url()).isZero();

            // spark-submit of the job jar, with Spark's jars only on the driver's class path.
            Path submitted = dir.resolve("submitted.parquet");
            status = cluster.submit(dir.resolve("submit.log"), jobJar, "dev.loupe.spark.cli.SparkMain",
                    concat(harvest, "--out", submitted.toString()));
            assertThat(status).as("spark-submit's exit status (see submit.log)").isZero();
            SparkSession local = SparkTesting.session();
            assertThat(sorted(local.read().parquet(viaMaster.toString()).collectAsList())).isEqualTo(localRows);
            assertThat(sorted(local.read().parquet(submitted.toString()).collectAsList())).isEqualTo(localRows);
        }
    }

    private static String[] concat(String[] first, String... rest) {
        return Stream.concat(Arrays.stream(first), Arrays.stream(rest)).toArray(String[]::new);
    }

    private static List<Row> sorted(List<Row> rows) {
        List<Row> out = new ArrayList<>(rows);
        out.sort(Comparator.<Row>comparingInt(r -> r.getInt(0)).thenComparingInt(r -> r.getInt(1))
                .thenComparingInt(r -> r.getInt(3)));
        return out;
    }
}
