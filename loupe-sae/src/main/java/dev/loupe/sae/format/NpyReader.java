package dev.loupe.sae.format;

import dev.loupe.CheckpointException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of numpy's {@code .npy} format for what Gemma Scope ships: float32 little-endian
 * ({@code '<f4'}), C order, format versions 1 to 3. Anything else is refused with the reason. The header's
 * shape is checked before any data is read (at most {@link #MAX_ELEMENTS} values), and the data must be
 * exactly as long as the shape says.
 */
public final class NpyReader {
    /** The largest array it reads (a Java float[] of 2 GiB). */
    public static final long MAX_ELEMENTS = (1L << 29);
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int MAX_HEADER = 1 << 16;
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private NpyReader() {}

    /**
     * Reads one array from {@code in} (which must end with it).
     *
     * @param where the file (and entry), named in errors
     * @throws CheckpointException if the file is not a float32 little-endian C-order array, or is truncated
     *     or longer than its header says
     */
    public static NpyArray read(InputStream in, String where) {
        try {
            byte[] magic = in.readNBytes(8);
            if (magic.length < 8) {
                throw new CheckpointException(where + ": truncated before the end of the .npy magic string");
            }
            for (int i = 0; i < MAGIC.length; i++) {
                if (magic[i] != MAGIC[i]) {
                    throw new CheckpointException(where + ": not a .npy file (no \\x93NUMPY magic string)");
                }
            }
            int major = magic[6];
            int headerLength;
            if (major == 1) {
                byte[] len = in.readNBytes(2);
                if (len.length < 2) {
                    throw new CheckpointException(where + ": truncated in the .npy header length");
                }
                headerLength = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
            } else if (major == 2 || major == 3) {
                byte[] len = in.readNBytes(4);
                if (len.length < 4) {
                    throw new CheckpointException(where + ": truncated in the .npy header length");
                }
                headerLength = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getInt();
            } else {
                throw new CheckpointException(where + ": .npy format version " + major + " is not 1, 2 or 3");
            }
            if (headerLength < 0 || headerLength > MAX_HEADER) {
                throw new CheckpointException(where + ": .npy header length " + headerLength + " is out of bounds (at most "
                        + MAX_HEADER + ")");
            }
            byte[] headerBytes = in.readNBytes(headerLength);
            if (headerBytes.length < headerLength) {
                throw new CheckpointException(where + ": truncated in the .npy header");
            }
            String header = new String(headerBytes, StandardCharsets.ISO_8859_1);
            long[] shape = parseHeader(header, where);
            long count = 1;
            for (long d : shape) {
                count *= d;
                if (count > MAX_ELEMENTS) {
                    throw new CheckpointException(where + ": shape " + Arrays.toString(shape)
                            + " has more than " + MAX_ELEMENTS + " elements");
                }
            }
            float[] data = readFloats(in, (int) count, where);
            if (in.read() != -1) {
                throw new CheckpointException(where + ": has bytes after the " + count + " float32 values its shape "
                        + Arrays.toString(shape) + " needs");
            }
            return new NpyArray(shape, data);
        } catch (IOException e) {
            throw new CheckpointException(where + ": cannot be read: " + e.getMessage(), e);
        }
    }

    private static long[] parseHeader(String header, String where) {
        Matcher descr = DESCR.matcher(header);
        if (!descr.find()) {
            throw new CheckpointException(where + ": the .npy header has no 'descr': " + header.strip());
        }
        if (!descr.group(1).equals("<f4")) {
            throw new CheckpointException(where + ": dtype '" + descr.group(1) + "' is not float32 little-endian ('<f4');"
                    + " convert it with numpy (a.astype('<f4'))");
        }
        Matcher fortran = FORTRAN.matcher(header);
        if (!fortran.find()) {
            throw new CheckpointException(where + ": the .npy header has no 'fortran_order'");
        }
        if (fortran.group(1).equals("True")) {
            throw new CheckpointException(where + ": the array is in Fortran order; save it in C order "
                    + "(np.ascontiguousarray)");
        }
        Matcher shape = SHAPE.matcher(header);
        if (!shape.find()) {
            throw new CheckpointException(where + ": the .npy header has no 'shape'");
        }
        List<Long> dims = new ArrayList<>();
        for (String part : shape.group(1).split(",")) {
            String dim = part.strip();
            if (dim.isEmpty()) {
                continue;
            }
            if (!dim.matches("[0-9]{1,12}")) {
                throw new CheckpointException(where + ": shape entry '" + dim + "' is not a non-negative integer");
            }
            dims.add(Long.parseLong(dim));
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    /** Reads exactly {@code count} little-endian floats; memory grows with the bytes that really arrive. */
    private static float[] readFloats(InputStream in, int count, String where) throws IOException {
        long bytes = 4L * count;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream((int) Math.min(bytes, 1 << 20));
        byte[] chunk = new byte[1 << 16];
        long left = bytes;
        while (left > 0) {
            int n = in.read(chunk, 0, (int) Math.min(chunk.length, left));
            if (n < 0) {
                throw new CheckpointException(where + ": truncated: the shape needs " + bytes + " bytes of data, "
                        + "the file has " + (bytes - left));
            }
            buffer.write(chunk, 0, n);
            left -= n;
        }
        float[] data = new float[count];
        ByteBuffer.wrap(buffer.toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
        return data;
    }
}
