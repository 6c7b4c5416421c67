package dev.loupe.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.EnumFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Request bodies read into the explorer's request records, and answers and errors written as JSON. */
final class JsonBodies {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            // Kinds go out as they come in and as the OpenAPI file names them: "resid_pre", "zero".
            .enable(EnumFeature.WRITE_ENUMS_TO_LOWERCASE)
            .build();

    private JsonBodies() {}

    /**
     * {@code body} as a {@code type}.
     *
     * @throws ApiException 400 naming what is malformed or unknown (Jackson's own message, without its
     *     quotation of the source)
     */
    static <T> T read(byte[] body, Class<T> type) {
        if (body.length == 0) {
            throw new ApiException(400, "The request needs a JSON body (Content-Type: application/json)");
        }
        try {
            T value = MAPPER.readValue(body, type);
            if (value == null) {
                throw new ApiException(400, "The request body is JSON null; send an object");
            }
            return value;
        } catch (JsonProcessingException e) {
            String detail = e.getOriginalMessage();
            int cut = detail.indexOf('\n');
            String where = e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr() + ")";
            throw new ApiException(400, "Malformed JSON request" + where + ": " + (cut < 0 ? detail : detail.substring(0,
                    cut)));
        } catch (IOException e) {
            throw new ApiException(400, "The request body could not be read: " + e.getMessage());
        }
    }

    /** {@code value} as UTF-8 JSON. */
    static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("An answer could not be written as JSON", e);
        }
    }

    /** {@code {"error": message, "status": status}}. */
    static byte[] error(int status, String message) {
        return write(Map.of("error", message == null ? "error" : message, "status", status));
    }

    /** {@code bytes} as text, for a streamed line. */
    static String line(Object value) {
        return new String(write(value), StandardCharsets.UTF_8) + "\n";
    }
}
