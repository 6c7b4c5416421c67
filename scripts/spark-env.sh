# shellcheck shell=bash
# The JVM flags of Loupe's Spark JVMs (./loupe's Spark commands, ./bench --spark), on top of jvm-env.sh's:
#
#   source "$home/scripts/spark-env.sh"
#   "$loupe_java" "${loupe_jvm_flags[@]}" "${loupe_spark_flags[@]}" -cp "$loupe_spark_classpath" MainClass ...
#
# Spark reaches into the JDK's internals: the --add-opens of Spark's own launcher (loupe-spark's pom.xml gives
# its tests the same, in loupe.spark.opens). loupe_spark_classpath is loupe-spark's jar and target/lib (Loupe's
# and Spark's jars) under $home (the repository root; the current folder when home is unset).
loupe_spark_flags=()
for loupe_spark_package in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util \
        java.util.concurrent java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.util.calendar; do
    loupe_spark_flags+=("--add-opens=java.base/$loupe_spark_package=ALL-UNNAMED")
done
unset loupe_spark_package
loupe_spark_flags+=(-Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true)
loupe_spark_classpath="${home:-.}/loupe-spark/target/loupe-spark.jar:${home:-.}/loupe-spark/target/lib/*"
