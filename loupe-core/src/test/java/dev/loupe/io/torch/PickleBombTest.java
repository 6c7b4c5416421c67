package dev.loupe.io.torch;

import static dev.loupe.io.torch.TorchZip.floats;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ai.djl.ndarray.NDManager;
import dev.loupe.CheckpointException;
import dev.loupe.io.torch.PickleWriter.Spec;
import java.nio.file.Path;
import java.time.Duration;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pickles built to exhaust the reader rather than to run code: shared references that expand
 * exponentially, copies that repeat, nesting, and names that multiply. Each must be refused
 * quickly, naming the file and the limit; real checkpoints that share a little still load.
 */
class PickleBombTest {
    // A refusal takes milliseconds and an unbounded walk ages; a minute tells them apart on a busy machine too
    // (10 s failed once with the machine's two cores shared by twenty processes).
    private static final Duration QUICKLY = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    /**
     * The fuzzing reproduction: each level is a new list holding the previous one twice through
     * the memo (BINPUT, then BINGET twice), 60 levels, so a tree walk would take 2^61 steps.
     */
    @Test
    void aMemoBillionLaughsIsRefusedQuicklyNamingTheFileAndTheLimit() {
        PickleWriter w = new PickleWriter().proto(2).emptyList().binPut(0);
        for (int level = 1; level <= 60; level++) {
            w.emptyList().binPut(level).mark().binGet(level - 1).binGet(level - 1).op('e');
        }
        byte[] pickle = w.stop().bytes();
        assertThat(pickle.length).isLessThan(600);
        Path file = zip("laughs.pt", pickle);

        assertRefusedQuickly(file).hasMessageContaining("laughs.pt (archive/data.pkl)")
                .hasMessageContaining("more than " + RestrictedUnpickler.MAX_OBJECTS + " objects")
                .hasMessageContaining("memo references")
                .hasMessageContaining("billion laughs");
    }

    /** The same with protocol 4's MEMOIZE, hidden in an otherwise valid state dict next to a real tensor. */
    @Test
    void aBillionLaughsWithMemoizeInsideAStateDictIsRefused() {
        PickleWriter w = new PickleWriter().proto(4).global("collections", "OrderedDict").emptyTuple().reduce();
        w.mark().str("weight").tensor(Spec.contiguous("FloatStorage", "0", 2));
        w.str("laughs").emptyList().memoize();
        int memo = 0;
        for (int level = 1; level <= 60; level++) {
            w.emptyList().memoize().mark().binGet(memo).binGet(memo).op('e');
            memo++;
        }
        byte[] pickle = w.setItems().stop().bytes();
        Path file = TorchZip.of(pickle).storage("0", floats(1, 2)).write(dir.resolve("memoize.pt"));

        assertRefusedQuickly(file).hasMessageContaining("memoize.pt")
                .hasMessageContaining("more than " + RestrictedUnpickler.MAX_OBJECTS + " objects");
    }

    /** No memo at all: DUP then TUPLE2 pairs the object on the stack with itself, 2 bytes a level. */
    @Test
    void aBillionLaughsThroughDupIsRefused() {
        PickleWriter w = new PickleWriter().proto(2).emptyList();
        for (int level = 0; level < 60; level++) {
            w.op('2').tuple2();
        }
        Path file = zip("dup.pt", w.stop().bytes());

        assertRefusedQuickly(file).hasMessageContaining("dup.pt")
                .hasMessageContaining("more than " + RestrictedUnpickler.MAX_OBJECTS + " objects");
    }

    /** A shared tuple inside a set or a dict key is walked as well, not skipped. */
    @Test
    void aBillionLaughsInsideASetIsRefused() {
        PickleWriter w = new PickleWriter().proto(4).emptyDict().str("s").op(0x8f).mark().emptyTuple();
        for (int level = 0; level < 60; level++) {
            w.op('2').tuple2();
        }
        Path file = zip("set.pt", w.op(0x90).setItem().stop().bytes());

        assertRefusedQuickly(file).hasMessageContaining("set.pt")
                .hasMessageContaining("more than " + RestrictedUnpickler.MAX_OBJECTS + " objects");
    }

    /** OrderedDict(d) copies d: the same big dict copied again and again is quadratic work, so it is counted. */
    @Test
    void repeatedCopiesOfABigDictAreCountedAgainstTheBudget() {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().binPut(0);
        int entries = 100_000;
        for (int start = 0; start < entries; start += 1000) {
            w.mark();
            for (int i = start; i < start + 1000; i++) {
                w.integer(i).none();
            }
            w.setItems();
        }
        w.op('0'); // POP: the dict stays in the memo
        w.emptyList();
        for (int copy = 0; copy < 400; copy++) {
            w.global("collections", "OrderedDict").binGet(0).tuple1().reduce().append();
        }
        Path file = zip("copies.pt", w.stop().bytes());

        assertRefusedQuickly(file).hasMessageContaining("copies.pt")
                .hasMessageContaining("built or copied more than " + RestrictedUnpickler.MAX_OBJECTS + " objects");
    }

    @Test
    void nestingDeeperThanTheLimitIsRefused() {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().str("deep");
        for (int level = 0; level < 100; level++) {
            w.emptyList();
        }
        for (int level = 0; level < 99; level++) {
            w.append();
        }
        Path file = zip("deep.pt", w.setItem().stop().bytes());

        assertRefusedQuickly(file).hasMessageContaining("deep.pt")
                .hasMessageContaining("more than " + RestrictedUnpickler.MAX_DEPTH + " levels deep");
    }

    @Test
    void aTensorInASetOrADictKeyIsRefused() {
        byte[] inSet = new PickleWriter().proto(4).emptyDict().str("s").op(0x8f).mark()
                .tensor(Spec.contiguous("FloatStorage", "0", 2)).op(0x90).setItem().stop().bytes();
        assertRefusedQuickly(TorchZip.of(inSet).storage("0", floats(1, 2)).write(dir.resolve("inset.pt")))
                .hasMessageContaining("inset.pt").hasMessageContaining("inside a dict key or a set");

        byte[] asKey = new PickleWriter().proto(2).emptyDict().tensor(Spec.contiguous("FloatStorage", "0", 2)).tuple1()
                .integer(1).setItem().stop().bytes();
        assertRefusedQuickly(TorchZip.of(asKey).storage("0", floats(1, 2)).write(dir.resolve("askey.pt")))
                .hasMessageContaining("askey.pt").hasMessageContaining("inside a dict key or a set");
    }

    /** One long key shared by many entries would be copied into every tensor name. */
    @Test
    void namesThatMultiplyALongSharedKeyAreRefused() {
        String longKey = "k".repeat(256 * 1024);
        PickleWriter w = new PickleWriter().proto(2).emptyList().str(longKey).binPut(0)
                .op('0').tensor(Spec.contiguous("FloatStorage", "0", 2)).binPut(1).op('0');
        for (int i = 0; i < 300; i++) {
            w.emptyDict().binGet(0).binGet(1).setItem().append();
        }
        Path file = TorchZip.of(w.stop().bytes()).storage("0", floats(1, 2)).write(dir.resolve("names.pt"));

        assertRefusedQuickly(file).hasMessageContaining("names.pt")
                .hasMessageContaining("more than " + TorchCheckpoint.MAX_NAME_CHARS + " characters");
    }

    /**
     * What real checkpoints share still loads: a tied weight (one tensor under two names), and
     * optimizer state whose param groups share one betas tuple, nested as torch saves it.
     */
    @Test
    void tiedWeightsAndNestedOptimizerStateWithASharedTupleStillLoad() {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().mark();
        w.str("model").emptyDict().mark()
                .str("wte.weight").tensor(Spec.contiguous("FloatStorage", "0", 2)).binPut(10)
                .str("lm_head.weight").binGet(10).setItems();
        w.str("optimizer").emptyDict().mark();
        w.str("state").emptyDict().integer(0).emptyDict().str("exp_avg")
                .tensor(Spec.contiguous("FloatStorage", "1", 2)).setItem().setItem();
        w.str("param_groups").emptyList()
                .emptyDict().str("betas").binFloat(0.9).binFloat(0.999).tuple2().binPut(11).setItem()
                .str("params").emptyList().integer(0).append().setItem().append()
                .emptyDict().str("betas").binGet(11).setItem().append()
                .setItems();
        w.str("epoch").integer(3).setItems();
        Path file = TorchZip.of(w.stop().bytes()).storage("0", floats(1, 2)).storage("1", floats(3, 4))
                .write(dir.resolve("training.pt"));

        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThat(pt.names()).containsExactly("model.wte.weight", "model.lm_head.weight",
                    "optimizer.state.0.exp_avg");
            assertThat(pt.load("model.lm_head.weight", manager).toFloatArray()).containsExactly(1, 2);
            assertThat(pt.load("optimizer.state.0.exp_avg", manager).toFloatArray()).containsExactly(3, 4);
        }
    }

    private Path zip(String name, byte[] pickle) {
        return TorchZip.of(pickle).write(dir.resolve(name));
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertRefusedQuickly(Path file) {
        Throwable thrown = assertTimeoutPreemptively(QUICKLY, () -> {
            try {
                TorchCheckpoint.open(file).close();
                return null;
            } catch (CheckpointException e) {
                return e;
            }
        });
        assertThat(thrown).as("refused").isNotNull();
        return assertThatThrownBy(() -> {
            throw thrown;
        }).isInstanceOf(CheckpointException.class).hasMessageContaining(file.getFileName().toString());
    }
}
