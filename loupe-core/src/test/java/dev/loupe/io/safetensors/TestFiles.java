package dev.loupe.io.safetensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Fixture paths and hand-made files for the safetensors tests. */
public final class TestFiles {
    private TestFiles() {}

    // Surefire runs in the module directory, so the repository's testdata is one level up.
    static final Path MODELS = Path.of("..", "testdata", "models");
    static final Path GPT2_F32 = MODELS.resolve("gpt2/model.safetensors");
    static final Path GPT2_BF16 = MODELS.resolve("extra/gpt2_bf16/model.safetensors");
    static final Path GPT2_F16 = MODELS.resolve("extra/gpt2_f16/model.safetensors");

    /** Writes a file with the given header JSON (unpadded) followed by {@code data}. */
    static Path raw(Path file, String header, byte[] data) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        return raw(file, json.length, json, data);
    }

    /** Writes a file whose length prefix may disagree with the header actually written. */
    static Path raw(Path file, long headerLength, byte[] header, byte[] data) {
        ByteBuffer bytes = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(headerLength).put(header).put(data);
        try {
            return Files.write(file, bytes.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Pads a header with spaces so the data region starts 8-byte aligned. */
    static String padded(String header) {
        int length = header.getBytes(StandardCharsets.UTF_8).length;
        return header + " ".repeat((8 - length % 8) % 8);
    }

    static byte[] littleEndianFloats(float... values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            bytes.putFloat(value);
        }
        return bytes.array();
    }

    static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        ByteBuffer all = ByteBuffer.allocate(length);
        for (byte[] part : parts) {
            all.put(part);
        }
        return all.array();
    }

    static String sha256(Path file) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Rounds to the nearest bfloat16 (ties to even) and widens back: what torch's to(bfloat16) stores. */
    static float roundToBfloat16(float value) {
        if (Float.isNaN(value)) {
            return value;
        }
        int bits = Float.floatToRawIntBits(value);
        int rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
        return Float.intBitsToFloat(rounded << 16);
    }

    /** Rounds to the nearest float16 (ties to even) and widens back; computed in double, not with HalfFloats. */
    public static float roundToFloat16(float value) {
        if (Float.isNaN(value) || Float.isInfinite(value)) {
            return value;
        }
        // 11 significant bits; below 2^-14 the spacing stays at 2^-24 (subnormals).
        int exponent = Math.max(Math.getExponent(value), -14);
        double ulp = Math.scalb(1.0, exponent - 10);
        double rounded = Math.rint(value / ulp) * ulp;
        if (Math.abs(rounded) > 65504) {
            return Math.copySign(Float.POSITIVE_INFINITY, value);
        }
        return (float) Math.copySign(rounded, value);
    }
}
