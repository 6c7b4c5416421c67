package dev.loupe.bench;

/**
 * The JVM flags of every forked benchmark JVM, as constants because JMH's {@code @Fork} annotation
 * takes only compile-time constants.
 *
 * <p>{@link #HEAP} and the thread counts are the benchmarks' own: DJL runs PyTorch with 2 intra-op
 * threads and 1 inter-op thread on every machine, so that numbers measured on machines with different
 * numbers of cores stay comparable.
 *
 * <p>The other flags are copies of those in {@code scripts/jvm-env.sh}, the one source of the JVM
 * flags of {@code ./loupe} and {@code ./bench}; keep the values identical ({@code JvmEnvTest} fails
 * otherwise). The forks that {@code ./bench} starts get them twice, inherited from the JMH JVM that the
 * script starts with the shared flags and again from here; these copies keep a JMH run started without
 * the script ({@code java -cp ... org.openjdk.jmh.Main}) offline and quiet.
 */
final class BenchFlags {
    static final String HEAP = "-Xmx4g";
    static final String INTRA_OP_THREADS = "-Dai.djl.pytorch.num_threads=2";
    static final String INTER_OP_THREADS = "-Dai.djl.pytorch.num_interop_threads=1";
    static final String OFFLINE = "-Dai.djl.offline=true";
    static final String NO_GRAPH_OPTIMIZER = "-Dai.djl.pytorch.graph_optimizer=false";
    static final String LOG_WARN = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn";
    static final String QUIET_CUDA = "-Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=off";
    static final String QUIET_LIBUTILS = "-Dorg.slf4j.simpleLogger.log.ai.djl.pytorch.jni.LibUtils=off";

    private BenchFlags() {}
}
