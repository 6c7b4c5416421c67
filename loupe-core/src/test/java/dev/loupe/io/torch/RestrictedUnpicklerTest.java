package dev.loupe.io.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.CheckpointException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The interpreter on pickles written by CPython's own pickler (bytes embedded as hex). */
class RestrictedUnpicklerTest {
    /**
     * {@code pickle.dumps(obj, protocol=2)} of {"a": 1, "b": -5, "c": 300, "d": 70000, "e": -70000,
     * "big": 2**70, "neg": -2**63, "f": 0.1, "s": "héllo ☃", "list": [1, 2, 3], "tuple": (1, "x"),
     * "t1": (None,), "t3": (True, False, 2.5), "none": None, "nested": {7: [None, None]},
     * "long_s": "x" * 300}.
     */
    private static final String PROTOCOL_2 = "80027d71002858010000006171014b0158010000006271024afbffffff58010000006371034d2c01"
            + "58010000006471044a70"
            + "11010058010000006571054a90eefeff580300000062696771068a0900000000000000004058030000006e656771078a0800"
            + "000000000000805801000000667108473fb999999999999a5801000000737109580a00000068c3a96c6c6f20e29883710a58"
            + "040000006c697374710b5d710c284b014b024b036558050000007475706c65710d4b01580100000078710e86710f58020000"
            + "00743171104e857111580200000074337112888947400400000000000087711358040000006e6f6e6571144e58060000006e"
            + "657374656471157d71164b075d7117284e4e657358060000006c6f6e675f737118582c010000" + "78".repeat(300)
            + "7119752e";

    /**
     * {@code pickle.dumps(obj, protocol=5)} of the same dict plus "bytes": b"\x00\x01",
     * "bigbytes": b"y" * 300, "set": {3}, "fs": frozenset({4}).
     */
    private static final String PROTOCOL_5 = "8005955e030000000000007d94288c0161944b018c0162944afbffffff8c0163944d2c018c016494"
            + "4a701101008c0165944a"
            + "90eefeff8c03626967948a090000000000000000408c036e6567948a0800000000000000808c016694473fb999999999999a"
            + "8c0173948c0a68c3a96c6c6f20e29883948c046c697374945d94284b014b024b03658c057475706c65944b018c0178948694"
            + "8c027431944e85948c02743394888947400400000000000087948c046e6f6e65944e8c066e6573746564947d944b075d9428"
            + "4e4e65738c066c6f6e675f7394582c010000" + "78".repeat(300) + "948c0562797465739443020001948c0862696762"
            + "7974657394422c010000" + "79".repeat(300) + "948c03736574948f94284b03908c02667394284b049194752e";

    /** {@code pickle.dumps(collections.OrderedDict([("z", 1), ("a", 2)]), protocol=2)}. */
    private static final String ORDERED_DICT = "800263636f6c6c656374696f6e730a4f726465726564446963740a7100295271012858010000007a"
            + "71024b0158010000006171034b02752e";

    @Test
    void decodesCpythonProtocol2() {
        Map<?, ?> dict = (Map<?, ?>) load(PROTOCOL_2);
        checkCommonValues(dict);
    }

    @Test
    void decodesCpythonProtocol5WithFramesBytesAndSets() {
        Map<?, ?> dict = (Map<?, ?>) load(PROTOCOL_5);
        checkCommonValues(dict);
        assertThat((byte[]) dict.get("bytes")).containsExactly(0, 1);
        assertThat((byte[]) dict.get("bigbytes")).hasSize(300).containsOnly('y');
        assertThat(((RestrictedUnpickler.PySet) dict.get("set")).items()).containsExactly(3L);
        assertThat(((RestrictedUnpickler.PySet) dict.get("fs")).items()).containsExactly(4L);
    }

    @Test
    void orderedDictKeepsInsertionOrder() {
        Map<?, ?> dict = (Map<?, ?>) load(ORDERED_DICT);
        assertThat(new ArrayList<Object>(dict.keySet())).containsExactly("z", "a");
        assertThat(dict.get("a")).isEqualTo(2L);
    }

    @Test
    void reportsMemoMissesAndStackUnderflow() {
        assertThatThrownBy(() -> load("8002680a2e")).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("reads memo entry 10, which was never stored");
        assertThatThrownBy(() -> load("8002522e")).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("pops from an empty stack");
    }

    private static void checkCommonValues(Map<?, ?> dict) {
        assertThat(new ArrayList<Object>(dict.keySet())).startsWith("a", "b", "c", "d", "e", "big", "neg", "f", "s");
        assertThat(dict.get("a")).isEqualTo(1L);
        assertThat(dict.get("b")).isEqualTo(-5L);
        assertThat(dict.get("c")).isEqualTo(300L);
        assertThat(dict.get("d")).isEqualTo(70000L);
        assertThat(dict.get("e")).isEqualTo(-70000L);
        assertThat(dict.get("big")).isEqualTo(BigInteger.TWO.pow(70));
        assertThat(dict.get("neg")).isEqualTo(Long.MIN_VALUE);
        assertThat(dict.get("f")).isEqualTo(0.1);
        assertThat(dict.get("s")).isEqualTo("h\u00e9llo \u2603");
        assertThat(list(dict.get("list"))).containsExactly(1L, 2L, 3L);
        assertThat(list(dict.get("tuple"))).containsExactly(1L, "x");
        assertThat(list(dict.get("t1"))).containsExactly((Object) null);
        assertThat(list(dict.get("t3"))).containsExactly(true, false, 2.5);
        assertThat(dict.containsKey("none")).isTrue();
        assertThat(dict.get("none")).isNull();
        assertThat(list(((Map<?, ?>) dict.get("nested")).get(7L))).containsExactly(null, null);
        assertThat((String) dict.get("long_s")).isEqualTo("x".repeat(300));
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object value) {
        return (List<Object>) value;
    }

    private static Object load(String hex) {
        return RestrictedUnpickler.load(HexFormat.of().parseHex(hex), "test.pkl");
    }
}
