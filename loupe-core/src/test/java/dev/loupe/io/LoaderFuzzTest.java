package dev.loupe.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.io.torch.TorchCheckpoint;
import dev.loupe.io.torch.TorchCheckpointWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of the loaders: valid small files written by the project's own writers
 * ({@link SafetensorsWriter}, {@link TorchCheckpointWriter}), then bits flipped, bytes set, inserted,
 * deleted, duplicated, numbers in the header rewritten, the length prefix moved, the file cut or
 * extended, and the result read back: a safetensors or torch file tensor by tensor, and a whole
 * GPT-2 folder through {@link HookedTransformer} with a forward pass.
 *
 * <p>Every case runs in a thread with a deadline and must end in time with either a result or a
 * {@link LoupeException} whose message names the file; anything else (another exception, an error,
 * a hang) fails the test with the seed and the case, which reproduce it. When a mutation touched
 * only the header of a safetensors file, whatever loads must hold finite floats and a model's
 * logits must be finite: the validation must not let a header move tensors onto other bytes. When
 * the data itself changed (or a pickle, which may describe its storages with another dtype), the
 * values are what the bytes say, NaN included, so only the outcome is checked.
 *
 * <p>The normal run takes about {@value #NORMAL_SECONDS} s. The long runs' flag {@code -Dloupe.long=true}
 * ({@code ./check --long}) runs
 * {@value #LONG_SECONDS} s ({@code -Dloupe.fuzz.seconds=N} any other length), and
 * {@code -Dloupe.fuzz.seed=S} another seed; the counts are printed at the end.
 */
class LoaderFuzzTest {
    static final int NORMAL_SECONDS = 20;
    static final int LONG_SECONDS = 600;
    /** A case normally takes milliseconds; one that takes this long is a hang. */
    private static final long CASE_DEADLINE_SECONDS = 20;
    private static final byte[] INTERESTING = "{}[]\",:0123456789 -.eE\u0000\u00ff".getBytes(StandardCharsets.ISO_8859_1);
    /** Pickle opcodes worth planting: memo gets and puts, DUP, containers, MARK, STOP, APPENDS, SETITEMS. */
    private static final byte[] OPCODES = {'h', 'q', 'j', 'r', (byte) 0x94, '2', ']', '}', ')', '(', '.', 'e', 'u',
        's', 'a', 't', (byte) 0x86, (byte) 0x85, 'R', 'b', '0', 'N', 'K', 'J'};

    /** What one case came to. */
    enum Outcome {
        LOADED,
        LOADED_NON_FINITE,
        REFUSED
    }

    /** What a target does with a file: returns how it went, or throws. */
    private interface Reader {
        Outcome read(Path file, boolean headerOnly);
    }

    @TempDir
    static Path dir;

    private static ExecutorService runner;

    @BeforeAll
    static void startRunner() {
        runner = Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "fuzz-case");
            thread.setDaemon(true);
            return thread;
        });
    }

    @AfterAll
    static void stopRunner() {
        runner.shutdownNow();
    }

    @Test
    void mutatedSafetensorsPicklesAndModelsLoadOrAreRefusedNamingTheFile() throws Exception {
        boolean longRun = Boolean.getBoolean("loupe.long");
        long seconds = Long.getLong("loupe.fuzz.seconds", longRun ? LONG_SECONDS : NORMAL_SECONDS);
        long seed = Long.getLong("loupe.fuzz.seed", 19L);
        Random random = new Random(seed);

        byte[] safetensors = validSafetensors();
        byte[] torch = validTorch();
        Path model = validModel();
        byte[] modelWeights = Files.readAllBytes(model.resolve("model.safetensors"));

        Map<String, Map<Outcome, Integer>> counts = new LinkedHashMap<>();
        for (String target : List.of("safetensors", "torch", "model")) {
            counts.put(target, new EnumMap<>(Outcome.class));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int cases = 0;
        while (System.nanoTime() < deadline) {
            int pick = random.nextInt(10);
            String target = pick < 4 ? "safetensors" : pick < 7 ? "torch" : "model";
            String what;
            Outcome outcome;
            if (target.equals("safetensors")) {
                Mutated mutated = mutateSafetensors(safetensors, random);
                Path file = Files.write(dir.resolve("case-" + cases + ".safetensors"), mutated.bytes());
                what = mutated.description();
                outcome = run(seed, cases, target, what, file, () -> readSafetensors(file, mutated.headerOnly()));
                Files.deleteIfExists(file);
            } else if (target.equals("torch")) {
                Mutated mutated = mutateTorch(torch, random);
                Path file = Files.write(dir.resolve("case-" + cases + ".pt"), mutated.bytes());
                what = mutated.description();
                outcome = run(seed, cases, target, what, file, () -> readTorch(file));
                Files.deleteIfExists(file);
            } else {
                Mutated mutated = mutateSafetensors(modelWeights, random);
                Path folder = Files.createDirectories(dir.resolve("case-" + cases));
                Files.copy(model.resolve("config.json"), folder.resolve("config.json"));
                Path file = Files.write(folder.resolve("model.safetensors"), mutated.bytes());
                what = mutated.description();
                outcome = run(seed, cases, target, what, file, () -> readModel(folder, mutated.headerOnly()));
                Files.deleteIfExists(file);
                Files.deleteIfExists(folder.resolve("config.json"));
                Files.deleteIfExists(folder);
            }
            counts.get(target).merge(outcome, 1, Integer::sum);
            cases++;
        }
        System.out.println("LoaderFuzzTest: seed " + seed + ", " + seconds + " s, " + cases + " cases: " + counts);
        assertThat(cases).isGreaterThan(0);
        // The mutations must reach past the first checks: some of each target load.
        if (cases > 200) {
            counts.values().forEach(c -> assertThat(c.getOrDefault(Outcome.LOADED, 0)).isPositive());
        }
    }

    /**
     * The fuzzing run's reproduction at the model level: a header length one byte short cut only a
     * padding space, so the file parsed, but every tensor was read one byte early and the logits
     * were all NaN. Now the byte it leaves over after the last tensor refuses the file.
     */
    @Test
    void aModelWhoseHeaderLengthIsOneByteShortIsRefusedInsteadOfGivingNaNLogits() throws IOException {
        Path model = validModel();
        Path weights = model.resolve("model.safetensors");
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(weights)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = bytes.getLong(0);
        assertThat(bytes.get((int) (8 + headerLength - 1))).as("the header ends with padding").isEqualTo((byte) ' ');
        Files.write(weights, bytes.putLong(0, headerLength - 1).array());

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(model))
                .isInstanceOf(dev.loupe.CheckpointException.class)
                .hasMessageContaining(weights.toString())
                .hasMessageContaining("has 1 byte after its tensor data");
    }

    /** Runs one case with a deadline; a result or a LoupeException naming the file pass, all else fails. */
    private static Outcome run(long seed, int index, String target, String what, Path file,
            java.util.concurrent.Callable<Outcome> body) throws InterruptedException {
        String where = "case " + index + " (seed " + seed + ", " + target + ": " + what + ")";
        Future<Outcome> future = runner.submit(body);
        try {
            return future.get(CASE_DEADLINE_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            runner.shutdownNow();
            runner = Executors.newSingleThreadExecutor();
            return fail(where + " did not finish in " + CASE_DEADLINE_SECONDS + " s");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof LoupeException loupe) {
                String message = String.valueOf(loupe.getMessage());
                if (!message.contains(file.getFileName().toString()) && !message.contains(file.getParent().toString())) {
                    throw new AssertionError(where + " was refused with a message that does not name the file: "
                            + message, cause);
                }
                return Outcome.REFUSED;
            }
            throw new AssertionError(where + " failed with " + cause, cause);
        }
    }

    // --- the readers ------------------------------------------------------------------------------

    private static Outcome readSafetensors(Path path, boolean headerOnly) {
        boolean finite = true;
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(path)) {
            for (String name : file.names()) {
                NDArray array = file.load(name, manager);
                assertThat(array.getShape().getShape()).isEqualTo(file.info(name).shape());
                finite &= finite(array);
            }
        }
        if (!finite && headerOnly) {
            throw new AssertionError(path + ": a header-only mutation loaded with non-finite floats, so the header"
                    + " moved a tensor onto other bytes");
        }
        return finite ? Outcome.LOADED : Outcome.LOADED_NON_FINITE;
    }

    private static Outcome readTorch(Path path) {
        boolean finite = true;
        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint file = TorchCheckpoint.open(path)) {
            for (String name : file.names()) {
                NDArray array = file.load(name, manager);
                assertThat(array.getShape().getShape()).isEqualTo(file.shape(name));
                finite &= finite(array);
            }
        }
        return finite ? Outcome.LOADED : Outcome.LOADED_NON_FINITE;
    }

    private static Outcome readModel(Path folder, boolean headerOnly) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(folder);
                NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(new long[] {1, 7, 42, 300, 511, 0}, new Shape(1, 6));
            NDArray logits = model.forward(tokens);
            assertThat(logits.getShape()).isEqualTo(new Shape(1, 6, model.config().dVocabOut()));
            if (finite(logits)) {
                return Outcome.LOADED;
            }
            if (headerOnly) {
                throw new AssertionError(folder + ": a header-only mutation gave a model with non-finite logits");
            }
            return Outcome.LOADED_NON_FINITE;
        }
    }

    private static boolean finite(NDArray array) {
        if (!array.getDataType().isFloating() || array.size() == 0) {
            return true;
        }
        NDArray asFloat = array.toType(DataType.FLOAT32, false);
        float max = asFloat.max().getFloat();
        float min = asFloat.min().getFloat();
        return Float.isFinite(max) && Float.isFinite(min);
    }

    // --- valid inputs, by the project's writers --------------------------------------------------

    private static byte[] validSafetensors() throws IOException {
        Path file = dir.resolve("valid.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            Random values = new Random(1);
            tensors.put("embed.W_E", manager.randomNormal(0, 0.02f, new Shape(6, 4), DataType.FLOAT32));
            tensors.put("blocks.0.ln1.w", manager.ones(new Shape(4)).toType(DataType.FLOAT16, false));
            tensors.put("blocks.0.attn.IGNORE", manager.create(new float[] {-1e5f, 0.5f}).toType(DataType.FLOAT64, false));
            tensors.put("input_ids", manager.create(new long[] {50256, 464, 2068, values.nextInt(512)}, new Shape(2, 2)));
            tensors.put("attention_mask", manager.create(new boolean[] {true, true, false}));
            tensors.put("empty", manager.zeros(new Shape(0, 3)));
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
        }
        return Files.readAllBytes(file);
    }

    private static byte[] validTorch() throws IOException {
        Path file = dir.resolve("valid.pt");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("0.weight", manager.randomNormal(0, 0.02f, new Shape(4, 4), DataType.FLOAT32));
            tensors.put("0.bias", manager.zeros(new Shape(4)).toType(DataType.FLOAT16, false));
            tensors.put("1.weight", manager.randomNormal(0, 0.02f, new Shape(4, 4), DataType.FLOAT32).transpose());
            tensors.put("steps", manager.create(new long[] {250}));
            tensors.put("mask", manager.create(new boolean[] {true, false}));
            TorchCheckpointWriter.write(file, tensors);
        }
        return Files.readAllBytes(file);
    }

    /** A 2-layer GPT-2 folder: the fixture's config and its weights, rewritten by SafetensorsWriter. */
    private static Path validModel() throws IOException {
        Path folder = Files.createTempDirectory(dir, "gpt2");
        Files.copy(Fixtures.model("gpt2").resolve("config.json"), folder.resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(folder.resolve("model.safetensors"),
                    Fixtures.readAll(Fixtures.model("gpt2").resolve("model.safetensors"), manager));
        }
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(folder)) {
            assertThat(model.config().nLayers()).isEqualTo(2);
        }
        return folder;
    }

    // --- mutations --------------------------------------------------------------------------------

    /** Mutated bytes, what was done, and whether only the header (and its length prefix) changed. */
    record Mutated(byte[] bytes, String description, boolean headerOnly) {}

    private static Mutated mutateSafetensors(byte[] valid, Random random) {
        long headerLength = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        int headerEnd = (int) (8 + headerLength);
        // Mostly the header, where the structure is; sometimes anywhere.
        boolean headerOnly = random.nextInt(4) != 0;
        int limit = headerOnly ? headerEnd : valid.length;
        byte[] bytes = valid.clone();
        List<String> steps = new ArrayList<>();
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            int op = random.nextInt(headerOnly ? 6 : 9);
            switch (op) {
                case 0 -> {
                    int at = random.nextInt(limit);
                    int bit = random.nextInt(8);
                    bytes[at] ^= (byte) (1 << bit);
                    steps.add("flip bit " + bit + " of byte " + at);
                }
                case 1 -> {
                    int at = 8 + random.nextInt(Math.max(1, limit - 8));
                    byte value = INTERESTING[random.nextInt(INTERESTING.length)];
                    bytes[at] = value;
                    steps.add("set byte " + at + " to " + (value & 0xff));
                }
                case 2 -> {
                    Mutated renumbered = renumber(bytes, headerEnd, random);
                    bytes = renumbered.bytes();
                    steps.add(renumbered.description());
                }
                case 3 -> {
                    long delta = random.nextBoolean() ? random.nextInt(33) - 16 : random.nextLong();
                    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerLength + delta);
                    steps.add("header length " + (delta >= 0 ? "+" : "") + delta);
                }
                case 4 -> {
                    // An insertion in the header keeps the length prefix, so it shifts the data by n.
                    int at = 8 + random.nextInt(Math.max(1, headerEnd - 8));
                    int n = 1 + random.nextInt(8);
                    bytes = insert(bytes, at, interesting(random, n));
                    steps.add("insert " + n + " bytes at " + at);
                    headerOnly = false;
                }
                case 5 -> {
                    int at = 8 + random.nextInt(Math.max(1, headerEnd - 8));
                    int n = 1 + random.nextInt(Math.min(8, bytes.length - at));
                    bytes = delete(bytes, at, n);
                    steps.add("delete " + n + " bytes at " + at);
                    headerOnly = false;
                }
                case 6 -> {
                    int length = random.nextInt(bytes.length + 1);
                    bytes = java.util.Arrays.copyOf(bytes, length);
                    steps.add("truncate to " + length);
                }
                case 7 -> {
                    int n = 1 + random.nextInt(64);
                    byte[] tail = new byte[n];
                    random.nextBytes(tail);
                    bytes = insert(bytes, bytes.length, tail);
                    steps.add("append " + n + " bytes");
                }
                default -> {
                    int at = random.nextInt(bytes.length);
                    bytes[at] = (byte) random.nextInt(256);
                    steps.add("set byte " + at + " at random");
                }
            }
            if (bytes.length <= 8) {
                break;
            }
            limit = Math.min(limit, bytes.length);
            headerEnd = Math.min(headerEnd, bytes.length);
        }
        return new Mutated(bytes, String.join(", ", steps), headerOnly);
    }

    /** Rewrites one number of the header JSON (an offset or a dimension): off by one, zero, or large. */
    private static Mutated renumber(byte[] bytes, int headerEnd, Random random) {
        List<int[]> numbers = new ArrayList<>();
        for (int i = 8; i < Math.min(headerEnd, bytes.length); i++) {
            if (Character.isDigit(bytes[i]) && !Character.isDigit(bytes[i - 1])) {
                int end = i;
                while (end < bytes.length && Character.isDigit(bytes[end])) {
                    end++;
                }
                numbers.add(new int[] {i, end});
            }
        }
        if (numbers.isEmpty()) {
            return new Mutated(bytes, "no number to rewrite", true);
        }
        int[] number = numbers.get(random.nextInt(numbers.size()));
        long value = Long.parseLong(new String(bytes, number[0], number[1] - number[0], StandardCharsets.US_ASCII));
        long replacement = switch (random.nextInt(5)) {
            case 0 -> value + 1;
            case 1 -> Math.max(0, value - 1);
            case 2 -> 0;
            case 3 -> value * 2;
            default -> (1L << 40) + random.nextInt(100);
        };
        byte[] digits = Long.toString(replacement).getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[bytes.length - (number[1] - number[0]) + digits.length];
        System.arraycopy(bytes, 0, out, 0, number[0]);
        System.arraycopy(digits, 0, out, number[0], digits.length);
        System.arraycopy(bytes, number[1], out, number[0] + digits.length, bytes.length - number[1]);
        // A different number of digits moves the JSON's end against the length prefix.
        return new Mutated(out, "number at " + number[0] + ": " + value + " -> " + replacement, true);
    }

    /** Mostly the pickle, rebuilt into a valid zip; sometimes a storage entry or the zip's own bytes. */
    private static Mutated mutateTorch(byte[] validZip, Random random) {
        Map<String, byte[]> entries = unzip(validZip);
        String pickleName = entries.keySet().stream().filter(n -> n.endsWith("/data.pkl")).findFirst().orElseThrow();
        int kind = random.nextInt(10);
        if (kind < 7) {
            byte[] pickle = entries.get(pickleName);
            List<String> steps = new ArrayList<>();
            int count = 1 + random.nextInt(3);
            for (int i = 0; i < count && pickle.length > 2; i++) {
                int at = random.nextInt(pickle.length);
                switch (random.nextInt(6)) {
                    case 0 -> {
                        int bit = random.nextInt(8);
                        pickle[at] ^= (byte) (1 << bit);
                        steps.add("pickle: flip bit " + bit + " of byte " + at);
                    }
                    case 1 -> {
                        pickle[at] = OPCODES[random.nextInt(OPCODES.length)];
                        steps.add("pickle: opcode " + (pickle[at] & 0xff) + " at " + at);
                    }
                    case 2 -> {
                        int n = 1 + random.nextInt(4);
                        byte[] planted = new byte[n];
                        for (int j = 0; j < n; j++) {
                            planted[j] = random.nextBoolean() ? OPCODES[random.nextInt(OPCODES.length)]
                                    : (byte) random.nextInt(256);
                        }
                        pickle = insert(pickle, at, planted);
                        steps.add("pickle: insert " + n + " bytes at " + at);
                    }
                    case 3 -> {
                        int n = 1 + random.nextInt(Math.min(8, pickle.length - at));
                        pickle = delete(pickle, at, n);
                        steps.add("pickle: delete " + n + " bytes at " + at);
                    }
                    case 4 -> {
                        // A repeated stretch repeats memo puts and gets, containers and calls.
                        int n = 1 + random.nextInt(Math.min(64, pickle.length - at));
                        int times = 1 + random.nextInt(8);
                        byte[] chunk = java.util.Arrays.copyOfRange(pickle, at, at + n);
                        for (int t = 0; t < times; t++) {
                            pickle = insert(pickle, at, chunk);
                        }
                        steps.add("pickle: repeat " + n + " bytes at " + at + " " + times + " times");
                    }
                    default -> {
                        pickle = java.util.Arrays.copyOf(pickle, at);
                        steps.add("pickle: truncate to " + at);
                    }
                }
            }
            entries.put(pickleName, pickle);
            return new Mutated(zip(entries), String.join(", ", steps), false);
        }
        if (kind < 9) {
            List<String> storages = entries.keySet().stream().filter(n -> n.contains("/data/")).toList();
            String name = storages.get(random.nextInt(storages.size()));
            byte[] storage = entries.get(name);
            int length = random.nextBoolean() ? random.nextInt(storage.length + 1) : storage.length + 1
                    + random.nextInt(16);
            entries.put(name, java.util.Arrays.copyOf(storage, length));
            return new Mutated(zip(entries), "storage " + name + " resized to " + length, false);
        }
        byte[] bytes = validZip.clone();
        int at = random.nextInt(bytes.length);
        bytes[at] = (byte) random.nextInt(256);
        return new Mutated(bytes, "zip: set byte " + at, false);
    }

    private static byte[] interesting(Random random, int n) {
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            bytes[i] = INTERESTING[random.nextInt(INTERESTING.length)];
        }
        return bytes;
    }

    private static byte[] insert(byte[] bytes, int at, byte[] inserted) {
        byte[] out = new byte[bytes.length + inserted.length];
        System.arraycopy(bytes, 0, out, 0, at);
        System.arraycopy(inserted, 0, out, at, inserted.length);
        System.arraycopy(bytes, at, out, at + inserted.length, bytes.length - at);
        return out;
    }

    private static byte[] delete(byte[] bytes, int at, int n) {
        byte[] out = new byte[bytes.length - n];
        System.arraycopy(bytes, 0, out, 0, at);
        System.arraycopy(bytes, at + n, out, at, bytes.length - at - n);
        return out;
    }

    private static Map<String, byte[]> unzip(byte[] bytes) {
        Path file = dir.resolve("unzip.pt");
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try {
            Files.write(file, bytes);
            try (ZipFile zip = new ZipFile(file.toFile())) {
                for (ZipEntry entry : Collections.list(zip.entries())) {
                    try (InputStream in = zip.getInputStream(entry)) {
                        entries.put(entry.getName(), in.readAllBytes());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return entries;
    }

    /** A zip of STORED entries, as torch.save writes them. */
    private static byte[] zip(Map<String, byte[]> entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(e.getValue().length);
                entry.setCompressedSize(e.getValue().length);
                entry.setCrc(crc.getValue());
                zip.putNextEntry(entry);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
