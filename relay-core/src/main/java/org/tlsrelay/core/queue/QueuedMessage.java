package org.tlsrelay.core.queue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A message in the spool as seen at one moment: its envelope, its state and where its content is.
 *
 * @param envelope the envelope as last written
 * @param state the directory it was found in
 * @param body the raw message file ({@code ID.eml}): the message as received, CRLF line endings, dot-unstuffed,
 *     starting with the relay's {@code Received:} header
 * @param size the size of {@code body} in octets
 */
public record QueuedMessage(Envelope envelope, QueueState state, Path body, long size) {
    public QueuedMessage {
        Objects.requireNonNull(envelope, "envelope");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(body, "body");
    }

    public String id() {
        return envelope.id();
    }

    /**
     * Opens the content. For a claimed message the file stays where it is until the worker reports back; an operator
     * may still move it (hold) in the meantime, so open it once, early, and read from the stream.
     */
    public InputStream openBody() throws IOException {
        return Files.newInputStream(body);
    }
}
