package dev.loupe.hub;

import dev.loupe.hub.HubException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Fetches one blob into the cache safely: under a lock, into {@code blobs/{etag}.incomplete},
 * resuming with a Range request after an interruption (in this run or an earlier one), checking
 * the size and, for LFS files, the sha256 the ETag announces, then renaming it into place.
 */
final class BlobDownload {
    /** Tries in a row that bring no new byte before giving up (huggingface_hub's http_get also allows 5). */
    private static final int MAX_TRIES_WITHOUT_PROGRESS = 5;
    private static final int BUFFER = 1 << 16;

    private final HubHttp http;
    private final HubCache cache;
    private final DownloadProgress progress;

    BlobDownload(HubHttp http, HubCache cache, DownloadProgress progress) {
        this.http = http;
        this.cache = cache;
        this.progress = progress;
    }

    /**
     * Makes {@code pointer} (a file of a snapshot) lead to the complete blob of {@code file},
     * downloading it unless another thread or process already did.
     */
    void fetchAndLink(HubRepo repo, String revision, String filename, FileMetadata file, Path pointer) {
        Path blob = cache.blob(repo, file.etag());
        try (FileLocks.Held held = FileLocks.lock(cache.lockFile(repo, file.etag()))) {
            if (!Files.isRegularFile(blob)) {
                download(repo, revision, filename, file, blob);
            }
            if (!Files.isRegularFile(pointer)) {
                cache.link(blob, pointer);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not write " + filename + " of " + repo + " into the cache "
                    + cache.root() + ": " + e.getMessage(), e);
        }
    }

    private void download(HubRepo repo, String revision, String filename, FileMetadata file, Path blob)
            throws IOException {
        Path part = cache.incomplete(repo, file.etag());
        Files.createDirectories(part.getParent());
        long have = Files.exists(part) ? Files.size(part) : 0;
        requireSpace(part, file.size() - Math.min(have, file.size()), repo, filename);
        MessageDigest sha256 = file.etagIsSha256() ? sha256() : null;
        try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ)) {
            if (have > file.size()) {
                out.truncate(0);
                have = 0;
            }
            if (sha256 != null && have > 0) {
                hashPrefix(out, have, sha256);
            }
            out.position(have);
            progress.start(filename, file.size(), have);
            try {
                have = transfer(repo, revision, filename, file, out, have, sha256);
                out.force(true);
            } finally {
                progress.finish();
            }
        } catch (IOException e) {
            if (isDiskFull(e)) {
                Files.deleteIfExists(part);
                throw new HubException(Reason.DISK_FULL, "The disk filled up while downloading " + filename + " of "
                        + repo + " (" + DownloadProgress.TerminalBar.bytes(file.size()) + ") into " + cache.root()
                        + "; the partial file was removed. Free some space, or set HF_HUB_CACHE to a folder on a"
                        + " larger disk, and run again", e);
            }
            throw e;
        }
        if (sha256 != null) {
            String actual = HexFormat.of().formatHex(sha256.digest());
            if (!actual.equals(file.etag())) {
                Files.deleteIfExists(part);
                throw new HubException(Reason.CORRUPT, "The download of " + filename + " of " + repo
                        + " is corrupt: its sha256 is " + actual + " but the Hub announced " + file.etag()
                        + ". It was deleted and nothing was cached. Run again; if it fails the same way, a proxy or the"
                        + " mirror HF_ENDPOINT names is changing the file");
            }
        }
        HubCache.moveAtomically(part, blob);
    }

    /**
     * Copies the body into {@code out} until the file is whole, resuming after broken connections.
     * Only bytes beyond the furthest offset reached so far count as progress: a server that ignores
     * Range and starts again from 0 sends bytes, but not new ones, so it cannot keep the download
     * going for ever. After {@link #MAX_TRIES_WITHOUT_PROGRESS} tries in a row without new bytes (a
     * stalled body fails its try after {@code HF_HUB_DOWNLOAD_TIMEOUT}) the download gives up.
     */
    private long transfer(HubRepo repo, String revision, String filename, FileMetadata file, FileChannel out,
            long have, MessageDigest sha256) throws IOException {
        int tries = 0;
        int triesWithoutProgress = 0;
        long furthest = have;
        IOException lastFailure = null;
        URI server = file.location();
        byte[] buffer = new byte[BUFFER];
        while (have < file.size()) {
            if (triesWithoutProgress >= MAX_TRIES_WITHOUT_PROGRESS) {
                // The first try of this run is no retry, when it too brought nothing.
                int retries = tries == triesWithoutProgress ? tries - 1 : triesWithoutProgress;
                throw new HubException(Reason.NETWORK, "The download of " + filename + " of " + repo + " failed: the"
                        + " server at " + HubHttp.withoutQuery(server) + " stopped sending after " + furthest + " of "
                        + file.size() + " bytes; retried " + retries + " times without progress (the"
                        + " last try: " + describe(lastFailure) + "). Run again to resume: the bytes so far are kept"
                        + " in " + cache.incomplete(repo, file.etag()), lastFailure);
            }
            if (triesWithoutProgress > 0) {
                pause(triesWithoutProgress);
            }
            triesWithoutProgress++;
            tries++;
            HubHttp.Body body;
            try {
                body = http.get(file.location(), have, repo, revision, filename);
            } catch (HubException e) {
                if (e.reason() != Reason.NETWORK) {
                    throw e;
                }
                lastFailure = new IOException(e.getMessage(), e);
                continue;
            }
            server = body.url();
            InputStream in = body.stream();
            try {
                if (body.start() == 0 && have > 0) {
                    // The server ignored the Range header and sends the whole file: start over.
                    out.truncate(0);
                    out.position(0);
                    have = 0;
                    if (sha256 != null) {
                        sha256.reset();
                    }
                }
                int n;
                while ((n = read(in, buffer)) > 0) {
                    if (have + n > file.size()) {
                        Files.deleteIfExists(cache.incomplete(repo, file.etag()));
                        throw new HubException(Reason.CORRUPT, "The server sent more than the " + file.size()
                                + " bytes the Hub announced for " + filename + " of " + repo + "; the download was"
                                + " deleted. Run again; if it fails the same way, check HF_ENDPOINT and your proxy");
                    }
                    write(out, buffer, n);
                    if (sha256 != null) {
                        sha256.update(buffer, 0, n);
                    }
                    have += n;
                    if (have > furthest) {
                        furthest = have;
                        triesWithoutProgress = 0;
                    }
                    progress.advance(n);
                }
                if (have < file.size()) {
                    lastFailure = new IOException("the response ended after " + have + " bytes");
                }
            } catch (ReadFailure e) {
                lastFailure = e.getCause();
            } finally {
                closeQuietly(in);
            }
        }
        return have;
    }

    private static String describe(IOException failure) {
        if (failure == null) {
            return "no error";
        }
        String message = failure.getMessage();
        return message == null ? failure.getClass().getSimpleName() : message;
    }

    /** An error reading the response, told apart from one writing the file. */
    private static final class ReadFailure extends IOException {
        ReadFailure(IOException cause) {
            super(cause);
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }

    private static int read(InputStream in, byte[] buffer) throws ReadFailure {
        try {
            return in.read(buffer);
        } catch (IOException e) {
            throw new ReadFailure(e);
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // The body was read as far as needed; a failure to close it changes nothing on disk.
        }
    }

    private static void write(FileChannel out, byte[] buffer, int n) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(buffer, 0, n);
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }

    private static void hashPrefix(FileChannel in, long length, MessageDigest sha256) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
        long position = 0;
        while (position < length) {
            buffer.clear().limit((int) Math.min(BUFFER, length - position));
            int n = in.read(buffer, position);
            if (n <= 0) {
                break;
            }
            sha256.update(buffer.array(), 0, n);
            position += n;
        }
    }

    private void requireSpace(Path part, long needed, HubRepo repo, String filename) throws IOException {
        long free = Files.getFileStore(part.getParent()).getUsableSpace();
        if (free < needed) {
            throw new HubException(Reason.DISK_FULL, "Not enough disk space for " + filename + " of " + repo + ": it needs "
                    + DownloadProgress.TerminalBar.bytes(needed) + " but " + part.getParent() + " has "
                    + DownloadProgress.TerminalBar.bytes(free) + " free. Free some space, or set HF_HUB_CACHE to a"
                    + " folder on a larger disk");
        }
    }

    private static boolean isDiskFull(IOException e) {
        String message = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        return message.contains("no space left") || message.contains("not enough space")
                || message.contains("disk quota exceeded");
    }

    private static void pause(int tries) {
        try {
            Thread.sleep(Math.min(1000L, 50L << tries));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException(Reason.NETWORK, "Interrupted while waiting to resume a download", e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("This Java has no SHA-256", e);
        }
    }
}
