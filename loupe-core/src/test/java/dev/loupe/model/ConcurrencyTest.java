package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.config.WeightDtype;
import dev.loupe.hook.HookSpec;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.TinyGpt2;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * One model shared by many threads: every run gives exactly (bitwise) what it gives alone, whatever
 * runs beside it, and hooks given to one run never reach another. Issue 19, item 6: before the fix,
 * 183 of 200 plain passes running beside ablations returned ablated logits, and two threads caching
 * gradients failed 43 times in 100 with "Native resource has been released".
 */
@Isolated("many threads, and autograd")
class ConcurrencyTest {
    private static final long TIMEOUT_S = 60;
    private static final NDIndex HEAD_1 = new NDIndex(":, :, 1, :");

    private static TinyGpt2 gpt2;
    private static HookedTransformer model;
    private static NDArray tokens;
    private static Map<Kind, Map<String, float[]>> alone;

    /** The kinds of run the threads mix. */
    enum Kind { FORWARD, ABLATION, CACHE, CACHE_WITH_GRADIENTS }

    @BeforeAll
    static void load() {
        gpt2 = TinyGpt2.open();
        model = gpt2.model();
        tokens = gpt2.tokens(); // [2, 16]
        alone = new EnumMap<>(Kind.class);
        for (Kind kind : Kind.values()) {
            alone.put(kind, run(kind, tokens));
        }
    }

    @AfterAll
    static void close() {
        gpt2.close();
    }

    @AfterEach
    void noHooksLeft() {
        model.resetHooks(true);
    }

    /** Zero-ablates head 1 of layer 0, in place. */
    private static HookSpec ablation() {
        return HookSpec.forward("blocks.0.attn.hook_z", (z, point) -> {
            z.set(HEAD_1, 0f);
            return z;
        });
    }

    /** What one run gives, as Java arrays by name (logits, and every cached activation and gradient). */
    private static Map<String, float[]> run(Kind kind, NDArray input) {
        Map<String, float[]> values = new LinkedHashMap<>();
        switch (kind) {
            case FORWARD -> {
                try (NDArray logits = model.forward(input)) {
                    values.put("logits", logits.toFloatArray());
                }
            }
            case ABLATION -> {
                try (NDArray logits = model.runWithHooks(input, ablation())) {
                    values.put("logits", logits.toFloatArray());
                }
            }
            case CACHE, CACHE_WITH_GRADIENTS -> {
                CacheOptions options = kind == Kind.CACHE ? CacheOptions.all() : CacheOptions.all().withGradients();
                try (ActivationCache cache = model.runWithCache(input, options)) {
                    values.put("logits", cache.logits().toFloatArray());
                    for (String name : cache.keys()) {
                        values.put(name, cache.get(name).toFloatArray());
                    }
                }
            }
            default -> throw new IllegalStateException();
        }
        return values;
    }

    /** Null if {@code got} equals what {@code kind} gives alone, bit for bit; else what differs. */
    private static String difference(Kind kind, Map<String, float[]> got) {
        Map<String, float[]> expected = alone.get(kind);
        if (!expected.keySet().equals(got.keySet())) {
            return kind + ": entries " + got.keySet() + " instead of " + expected.keySet();
        }
        for (Map.Entry<String, float[]> entry : expected.entrySet()) {
            if (!Arrays.equals(entry.getValue(), got.get(entry.getKey()))) {
                return kind + ": " + entry.getKey() + " differs";
            }
        }
        return null;
    }

    /** Runs {@code tasks} at once (released together) and returns their results, failing after the timeout. */
    private static <T> List<T> together(List<Callable<T>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (Callable<T> task : tasks) {
                futures.add(pool.submit(() -> {
                    start.await();
                    return task.call();
                }));
            }
            start.countDown();
            List<T> results = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
            for (Future<T> future : futures) {
                results.add(future.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void eightThreadsMixingEveryKindOfRunEachGetWhatTheyGetAlone() throws Exception {
        int threads = 8;
        int passesPerThread = 125; // 1,000 passes in all
        ConcurrentLinkedQueue<String> differences = new ConcurrentLinkedQueue<>();
        AtomicInteger passes = new AtomicInteger();
        List<Callable<Void>> tasks = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            tasks.add(() -> {
                // Half the threads pass the shared tokens (their runs' managers all hang under one
                // manager), half a copy of their own.
                try (NDManager own = NDManager.newBaseManager()) {
                    NDArray input = tokens;
                    if (thread % 2 == 0) {
                        input = tokens.duplicate();
                        input.attach(own);
                    }
                    for (int i = 0; i < passesPerThread; i++) {
                        Kind kind = Kind.values()[(thread + i) % Kind.values().length];
                        String difference = difference(kind, run(kind, input));
                        if (difference != null) {
                            differences.add("thread " + thread + ", pass " + i + ", " + difference);
                        }
                        passes.incrementAndGet();
                    }
                }
                return null;
            });
        }
        together(tasks);
        assertThat(passes).hasValue(threads * passesPerThread);
        assertThat(differences).isEmpty();
    }

    @Test
    void theIssuesReproductionPlainPassesBesideAblationsAndTwoGradientCaches() throws Exception {
        // 4 threads on one model: 2 ablating, 2 plain.
        List<Callable<Integer>> mixed = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Kind kind = t % 2 == 0 ? Kind.ABLATION : Kind.FORWARD;
            mixed.add(() -> {
                int wrong = 0;
                for (int i = 0; i < 50; i++) {
                    wrong += difference(kind, run(kind, tokens)) == null ? 0 : 1;
                }
                return wrong;
            });
        }
        assertThat(together(mixed)).as("wrong results per thread").containsOnly(0);
        // 2 threads caching gradients.
        List<Callable<Integer>> gradients = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            gradients.add(() -> {
                int wrong = 0;
                for (int i = 0; i < 50; i++) {
                    wrong += difference(Kind.CACHE_WITH_GRADIENTS, run(Kind.CACHE_WITH_GRADIENTS, tokens)) == null ? 0 : 1;
                }
                return wrong;
            });
        }
        assertThat(together(gradients)).as("wrong results per thread").containsOnly(0);
    }

    @Test
    void threadsSharingAFloat16ModelEachWidenTheirOwnLayers() throws Exception {
        try (HookedTransformer half = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"),
                WeightDtype.FLOAT16)) {
            float[] expected;
            try (NDArray logits = half.forward(tokens)) {
                expected = logits.toFloatArray();
            }
            List<Callable<Integer>> tasks = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                tasks.add(() -> {
                    int wrong = 0;
                    for (int i = 0; i < 50; i++) {
                        try (NDArray logits = half.forward(tokens)) {
                            wrong += Arrays.equals(expected, logits.toFloatArray()) ? 0 : 1;
                        }
                    }
                    return wrong;
                });
            }
            assertThat(together(tasks)).as("wrong results per thread").containsOnly(0);
        }
    }

    @Test
    void aRunsOwnHooksNeverReachARunOnAnotherThread() throws Exception {
        CountDownLatch insideAblation = new CountDownLatch(1);
        CountDownLatch plainDone = new CountDownLatch(1);
        AtomicInteger fired = new AtomicInteger();
        HookSpec blockingAblation = HookSpec.forward("blocks.0.attn.hook_z", (z, point) -> {
            fired.incrementAndGet();
            insideAblation.countDown();
            await(plainDone); // the ablating run stays in the middle of its pass meanwhile
            z.set(HEAD_1, 0f);
            return z;
        });
        List<Callable<Map<String, float[]>>> tasks = List.of(
                () -> {
                    try (NDArray logits = model.runWithHooks(tokens, blockingAblation)) {
                        return Map.of("logits", logits.toFloatArray());
                    }
                },
                () -> {
                    await(insideAblation);
                    try {
                        return run(Kind.FORWARD, tokens);
                    } finally {
                        plainDone.countDown();
                    }
                });
        List<Map<String, float[]>> results = together(tasks);
        assertThat(difference(Kind.ABLATION, results.get(0))).isNull();
        assertThat(difference(Kind.FORWARD, results.get(1))).as("the plain pass ran while the ablation was attached").isNull();
        assertThat(fired).as("the ablation fired in its own run only").hasValue(1);
    }

    @Test
    void modelLevelHooksApplyToRunsThatStartAfterwardsOnAnyThread() throws Exception {
        CountDownLatch runStarted = new CountDownLatch(1);
        CountDownLatch scopeOpened = new CountDownLatch(1);
        // A run that is under way when a scope opens elsewhere keeps the hooks it started with.
        HookSpec pause = HookSpec.forward("blocks.0.hook_resid_pre", (x, point) -> {
            runStarted.countDown();
            await(scopeOpened);
            return null;
        });
        List<Callable<Map<String, float[]>>> tasks = List.of(
                () -> {
                    try (NDArray logits = model.runWithHooks(tokens, pause)) {
                        return Map.of("logits", logits.toFloatArray());
                    }
                },
                () -> {
                    await(runStarted);
                    try (HookScope scope = model.hooks(ablation())) {
                        scopeOpened.countDown();
                        // ... and a run that starts on another thread while the scope is open has them.
                        return together(List.<Callable<Map<String, float[]>>>of(() -> run(Kind.FORWARD, tokens))).get(0);
                    }
                });
        List<Map<String, float[]>> results = together(tasks);
        assertThat(difference(Kind.FORWARD, results.get(0))).as("started before the scope opened").isNull();
        assertThat(difference(Kind.ABLATION, results.get(1))).as("started on another thread inside the scope").isNull();
        assertThat(difference(Kind.FORWARD, run(Kind.FORWARD, tokens))).as("after the scope closed").isNull();

        // A hook added with addHook on one thread applies to later runs on every thread, until a reset.
        together(List.<Callable<Void>>of(() -> {
            model.addHook(ablation());
            return null;
        }));
        assertThat(difference(Kind.ABLATION, run(Kind.FORWARD, tokens))).isNull();
        assertThat(difference(Kind.ABLATION, together(List.<Callable<Map<String, float[]>>>of(
                () -> run(Kind.FORWARD, tokens))).get(0))).isNull();
        model.resetHooks();
        assertThat(difference(Kind.FORWARD, run(Kind.FORWARD, tokens))).isNull();
    }

    @Test
    void aScopeClosesOnlyItsOwnHooksWhenScopesOfOtherThreadsInterleave() throws Exception {
        CountDownLatch firstOpened = new CountDownLatch(1);
        CountDownLatch secondOpened = new CountDownLatch(1);
        CountDownLatch firstClosed = new CountDownLatch(1);
        AtomicInteger secondFired = new AtomicInteger();
        HookSpec counting = HookSpec.forward("hook_embed", (x, point) -> {
            secondFired.incrementAndGet();
            return null;
        });
        together(List.<Callable<Void>>of(
                () -> {
                    try (HookScope first = model.hooks(ablation())) {
                        assertThat(first.level()).isEqualTo(1);
                        firstOpened.countDown();
                        await(secondOpened);
                    }
                    firstClosed.countDown();
                    return null;
                },
                () -> {
                    await(firstOpened);
                    try (HookScope second = model.hooks(counting)) {
                        assertThat(second.level()).as("scopes nest per thread").isEqualTo(1);
                        secondOpened.countDown();
                        await(firstClosed);
                        // The first thread's scope closed: its ablation is gone, this scope's hook stays.
                        assertThat(difference(Kind.FORWARD, run(Kind.FORWARD, tokens))).isNull();
                        assertThat(secondFired).hasValue(1);
                    }
                    return null;
                }));
        run(Kind.FORWARD, tokens);
        assertThat(secondFired).as("closed with its scope").hasValue(1);
        assertThat(model.hookRegistry().level()).isZero();
    }

    @Test
    void aFlagChangedDuringARunTakesEffectFromTheNextRun() throws Exception {
        CountDownLatch runStarted = new CountDownLatch(1);
        CountDownLatch flagChanged = new CountDownLatch(1);
        HookSpec pause = HookSpec.forward("hook_embed", (x, point) -> {
            runStarted.countDown();
            await(flagChanged);
            return null;
        });
        try {
            List<Callable<List<String>>> tasks = List.of(
                    () -> {
                        try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.all(), List.of(pause))) {
                            return cache.keys();
                        }
                    },
                    () -> {
                        await(runStarted);
                        model.setUseAttnResult(true);
                        flagChanged.countDown();
                        return List.of();
                    });
            assertThat(together(tasks).get(0)).doesNotContain("blocks.0.attn.hook_result")
                    .containsAll(alone.get(Kind.CACHE).keySet().stream().filter(k -> !k.equals("logits")).toList());
            try (ActivationCache cache = model.runWithCache(tokens)) {
                assertThat(cache.keys()).contains("blocks.0.attn.hook_result");
            }
        } finally {
            model.setUseAttnResult(false);
        }
    }

    @Test
    void runsWithoutGradientsDoNotWaitForAGradientRun() throws Exception {
        CountDownLatch recording = new CountDownLatch(1);
        CountDownLatch plainDone = new CountDownLatch(1);
        HookSpec pause = HookSpec.forward("blocks.1.hook_resid_pre", (x, point) -> {
            recording.countDown();
            await(plainDone); // holds the autograd lock meanwhile
            return null;
        });
        List<Callable<Map<String, float[]>>> tasks = List.of(
                () -> {
                    try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.all().withGradients(),
                            List.of(pause))) {
                        Map<String, float[]> values = new LinkedHashMap<>();
                        values.put("logits", cache.logits().toFloatArray());
                        for (String name : cache.keys()) {
                            values.put(name, cache.get(name).toFloatArray());
                        }
                        return values;
                    }
                },
                () -> {
                    await(recording);
                    try {
                        return run(Kind.CACHE, tokens);
                    } finally {
                        plainDone.countDown();
                    }
                });
        List<Map<String, float[]>> results = together(tasks);
        assertThat(difference(Kind.CACHE_WITH_GRADIENTS, results.get(0))).isNull();
        assertThat(difference(Kind.CACHE, results.get(1))).isNull();
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(TIMEOUT_S, TimeUnit.SECONDS)) {
                throw new IllegalStateException("timed out waiting for the other thread");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
