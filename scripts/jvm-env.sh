# shellcheck shell=bash
# The environment every Loupe JVM runs in: the one place the JVM flags and the allocator settings of
# ./loupe and ./bench are written down. Both scripts source this file (it runs nothing by itself):
#
#   source "$home/scripts/jvm-env.sh"
#   "$loupe_java" "${loupe_jvm_flags[@]}" -cp ... MainClass ...
#
# It defines
#   loupe_java         the java command: $JAVA_HOME/bin/java if JAVA_HOME names a JDK, else java on PATH;
#   loupe_jvm_flags    an array of JVM flags (below);
#   loupe_java_major   a function printing the feature version of $loupe_java (17, 21, 25, ...);
#   loupe_mkl_branch   a function printing the fastest MKL code branch this CPU runs deterministically;
# and exports MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ (glibc malloc) and MKL_CBWR (libtorch's MKL),
# which child processes such as JMH's forked benchmark JVMs inherit: the CLI and the benchmarks always
# run under the same environment.
#
# Copies of these flags that cannot read this file, and must keep the same values:
#   pom.xml                                           loupe.test.argLine and the native-access profile (tests);
#   loupe-bench/src/main/java/dev/loupe/bench/BenchFlags.java   @Fork of every benchmark (a JMH annotation
#                                                     needs compile-time constants; ./bench's forks also
#                                                     inherit these flags from the JMH JVM that ./bench starts);
#   loupe-cli/src/main/java/dev/loupe/cli/Main.java   set when absent, for `java -jar`/`-cp` runs without ./loupe.
# loupe-bench's JvmEnvTest fails when one of them disagrees with this file.

loupe_java="java"
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    loupe_java="$JAVA_HOME/bin/java"
fi

# The Java feature version (17, 21, 25, ...): from the JDK's release file if there is one (no JVM start).
loupe_java_major() {
    local bin release version=""
    bin="$(readlink -f "$(command -v "$loupe_java")" 2>/dev/null || true)"
    release="$(dirname "$(dirname "${bin:-/nonexistent/bin/java}")")/release"
    if [[ -f "$release" ]]; then
        version="$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$release")"
    fi
    if [[ -z "$version" ]]; then
        version="$("$loupe_java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)"
    fi
    version="${version#1.}"            # 1.8.0 -> 8.0
    echo "${version%%[.+-]*}"
}

# glibc returns freed blocks of a few tens of MB (libtorch's activations: a [128, 50257] logit tensor is
# 25 MB) to the kernel and page-faults them in again on the next allocation; keeping them in the heap
# makes tuned-lens training about 25 % faster. Set these yourself to override.
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-33554432}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-1073741824}"

# MKL picks its kernels by CPU and by memory alignment, so two processes could round differently;
# conditional numerical reproducibility (CNR) keeps runs of one seed together (`loupe train`: without it two
# processes drifted apart from step 50). CNR pinned to a code branch costs nothing when the branch is the
# CPU's best: 4096³ fp32 matMul on this project's 2-core AVX-512 machine, medians of 21 one-second runs:
# AVX512 159, unset 155, AUTO 153, AVX2 145 GFLOP/s, but COMPATIBLE (the SSE2 branch) 31. So the branch is
# the widest vector extension the CPU reports (the kernel's cpuinfo flags), never SSE2 when more exists.
# Set MKL_CBWR yourself to override.
loupe_mkl_branch() {
    local cpuinfo="${1:-/proc/cpuinfo}" flags
    flags=" $(grep -m 1 '^flags' "$cpuinfo" 2>/dev/null | cut -d: -f2) "
    if [[ "$flags" == *" avx512f "* && "$flags" == *" avx512cd "* && "$flags" == *" avx512bw "* \
            && "$flags" == *" avx512dq "* && "$flags" == *" avx512vl "* ]]; then
        echo AVX512
    elif [[ "$flags" == *" avx2 "* && "$flags" == *" fma "* ]]; then
        echo AVX2
    elif [[ "$flags" == *" avx "* ]]; then
        echo AVX
    elif [[ "$flags" == *" sse4_2 "* ]]; then
        echo SSE4_2
    else
        # Not x86 Linux (no MKL in libtorch there) or an unknown CPU: MKL's own choice.
        echo AUTO
    fi
}
export MKL_CBWR="${MKL_CBWR:-$(loupe_mkl_branch)}"

# One flag a line (JvmEnvTest reads them from here).
#   ai.djl.offline                  DJL never downloads: the PyTorch native library comes from the classpath
#                                   (pytorch-native-cpu), models from disk or the Hugging Face cache.
#   ai.djl.pytorch.graph_optimizer  DJL's PyTorch engine starts with TorchScript's graph executor optimiser
#                                   off (DJL turns it on by default; Loupe runs no TorchScript models).
#   org.slf4j.simpleLogger.*        DJL's INFO lines and its CUDA/LibUtils probes stay out of the output.
loupe_jvm_flags=(
    -Dai.djl.offline=true
    -Dai.djl.pytorch.graph_optimizer=false
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
    -Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=off
    -Dorg.slf4j.simpleLogger.log.ai.djl.pytorch.jni.LibUtils=off
)
# JDK 22+ warns when a library (JNA, DJL's JNI loader) calls restricted native methods unless allowed.
loupe_java_major_version="$(loupe_java_major)"
if [[ "$loupe_java_major_version" =~ ^[0-9]+$ ]] && (( loupe_java_major_version >= 22 )); then
    loupe_jvm_flags+=(--enable-native-access=ALL-UNNAMED)
fi
unset loupe_java_major_version
