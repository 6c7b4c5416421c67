package dev.loupe.hub;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A response body read with a stall timeout, as huggingface_hub's read timeout
 * ({@code HF_HUB_DOWNLOAD_TIMEOUT}): a read that waits longer than the timeout for the next bytes
 * fails with a {@link Stalled}, and the connection is given up. The JDK's HTTP client has no such
 * timeout of its own (its request timeout ends when the headers arrive), and a read blocked on its
 * stream cannot be woken, so the body is taken as a publisher of buffers and waited for here.
 */
final class TimedBody extends InputStream implements Flow.Subscriber<List<ByteBuffer>> {
    /** A read waited longer than the timeout for the next bytes. */
    static final class Stalled extends IOException {
        Stalled(String message) {
            super(message);
        }
    }

    /** Buffers asked for ahead, so reading and receiving overlap without unbounded memory. */
    private static final int AHEAD = 4;
    private static final Object END = new Object();

    private final BlockingQueue<Object> arrived = new LinkedBlockingQueue<>();
    private final Duration timeout;
    private final URI url;
    private volatile Flow.Subscription subscription;
    private volatile boolean closed;
    private Iterator<ByteBuffer> pending;
    private ByteBuffer current;
    private boolean ended;
    private long received;

    /**
     * @param timeout the longest wait for the next bytes
     * @param url what the body is of, for messages
     */
    TimedBody(Duration timeout, URI url) {
        this.timeout = timeout;
        this.url = url;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
        this.subscription = subscription;
        if (closed) {
            subscription.cancel();
        } else {
            subscription.request(AHEAD);
        }
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
        arrived.add(item);
    }

    @Override
    public void onError(Throwable throwable) {
        arrived.add(throwable);
    }

    @Override
    public void onComplete() {
        arrived.add(END);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        while (current == null || !current.hasRemaining()) {
            if (pending != null && pending.hasNext()) {
                current = pending.next();
                continue;
            }
            if (ended) {
                return -1;
            }
            if (closed) {
                throw new IOException("the body of " + url + " was closed");
            }
            next();
        }
        int n = Math.min(length, current.remaining());
        current.get(buffer, offset, n);
        received += n;
        return n;
    }

    /** Waits for the next buffers, the end, or a failure, at most the timeout. */
    @SuppressWarnings("unchecked")
    private void next() throws IOException {
        Object item;
        try {
            item = arrived.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IOException("interrupted while reading " + url, e);
        }
        if (item == null) {
            close();
            throw new Stalled("no data arrived for " + HubSettings.describe(timeout) + " (HF_HUB_DOWNLOAD_TIMEOUT)"
                    + " after " + received + " bytes of this response");
        }
        if (item == END) {
            ended = true;
            return;
        }
        if (item instanceof Throwable failure) {
            ended = true;
            throw failure instanceof IOException io ? io : new IOException(failure.toString(), failure);
        }
        pending = ((List<ByteBuffer>) item).iterator();
        Flow.Subscription s = subscription;
        if (s != null) {
            s.request(1);
        }
    }

    /** Gives up the body: the client stops receiving it and drops the connection if it is not done. */
    @Override
    public void close() {
        closed = true;
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
    }
}
