package org.tlsrelay.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** Exceptions in the words of a log line: what is wrong, never a Java class name, never a bare path. */
class ProblemsTest {

    @Test
    void fileProblemsNameWhatIsWrongAndTheFile() {
        assertEquals(
                "permission denied: /var/lib/tlsrelay/spool",
                Problems.describe(new AccessDeniedException("/var/lib/tlsrelay/spool")));
        assertEquals(
                "no such file or directory: /etc/tlsrelay/key.pem",
                Problems.describe(new NoSuchFileException("/etc/tlsrelay/key.pem")));
        assertEquals(
                "no space left on device: /var/lib/tlsrelay/spool/incoming/1a.eml",
                Problems.describe(
                        new FileSystemException(
                                "/var/lib/tlsrelay/spool/incoming/1a.eml",
                                null,
                                "No space left on device")));
    }

    @Test
    void networkProblemsReadLikePostfixs() {
        assertEquals(
                "connection refused",
                Problems.describe(new ConnectException("Connection refused")));
        assertEquals(
                "address already in use",
                Problems.describe(new BindException("Address already in use")));
        assertEquals("timed out", Problems.describe(new SocketTimeoutException("Read timed out")));
        assertEquals(
                "unknown host mx.example",
                Problems.describe(new UnknownHostException("mx.example")));
        assertEquals(
                "PKIX path building failed",
                Problems.describe(new SSLHandshakeException("PKIX path building failed")));
        assertEquals("TLS handshake failed", Problems.describe(new SSLHandshakeException(null)));
        assertEquals(
                "PKIX path building failed: unable to find valid certification path to requested target",
                Problems.describe(
                        new SSLHandshakeException(
                                "PKIX path building failed:"
                                        + " sun.security.provider.certpath.SunCertPathBuilderException:"
                                        + " unable to find valid certification path to requested target")));
    }

    @Test
    void wrappersAreLookedThrough() {
        ConnectException refused = new ConnectException("Connection refused");
        assertEquals("connection refused", Problems.describe(new CompletionException(refused)));
        assertEquals("connection refused", Problems.describe(new ExecutionException(refused)));
        assertEquals("connection refused", Problems.describe(new RuntimeException(refused)));
        assertEquals(
                "permission denied: /x",
                Problems.describe(new UncheckedIOException(new AccessDeniedException("/x"))));
        // a message that only repeats the cause's class name and message
        assertEquals(
                "connection refused",
                Problems.describe(new IOException(refused.toString(), refused)));
    }

    @Test
    void neverAClassName() {
        for (Throwable t :
                new Throwable[] {
                    new IOException(),
                    new NullPointerException(),
                    new IllegalStateException(
                            "java.lang.IllegalArgumentException: port out of range"),
                    new IOException("java.net.ConnectException: Connection refused")
                }) {
            String d = Problems.describe(t);
            assertFalse(d.contains("java."), d);
            assertFalse(d.contains("Exception"), d);
        }
        assertEquals("input/output error", Problems.describe(new IOException()));
        assertEquals(
                "unexpected error (null pointer)", Problems.describe(new NullPointerException()));
        assertEquals(
                "port out of range",
                Problems.describe(
                        new IllegalStateException(
                                "java.lang.IllegalArgumentException: port out of range")));
    }
}
