package dev.loupe.bench;

/**
 * The JVM flags of every forked benchmark JVM (JMH annotations need compile-time constants).
 * DJL runs PyTorch with 2 intra-op threads and 1 inter-op thread on every machine, so that numbers
 * measured on machines with different numbers of cores stay comparable.
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
