package dev.loupe.server;

import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own errors (a URI it refuses, a request it cannot parse) as the API's JSON error, never
 * an HTML page or a stack trace.
 */
final class JsonErrorHandler extends ErrorHandler {

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
            Callback callback) {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json; charset=utf-8");
        response.write(true, ByteBuffer.wrap(JsonBodies.error(code, clear(code, message))), callback);
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/json; charset=utf-8");
        return ByteBuffer.wrap(JsonBodies.error(status, clear(status, reason)));
    }

    private static String clear(int code, String message) {
        String reason = message == null || message.isBlank() ? "HTTP " + code : message;
        return code == 400 ? "Bad request: " + reason + " (paths with '..', encoded separators or other ambiguous"
                + " parts are refused)" : reason;
    }
}
