package org.tlsrelay.core.io;

import java.io.EOFException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * What went wrong, in the words an operator reads in a log line or an error message: {@code permission denied:
 * /var/lib/tlsrelay/spool}, {@code connection refused}, {@code timed out}, never a Java class name such as {@code
 * java.nio.file.AccessDeniedException} (whose own message is only the bare path). Wrappers that add nothing
 * ({@link CompletionException}, {@link ExecutionException}, an exception whose message is its cause's) are looked
 * through.
 */
public final class Problems {
    /** A Java class name at the start of a message, as {@code Throwable.toString()} writes it into wrappers. */
    private static final Pattern CLASS_PREFIX =
            Pattern.compile("^(?:[a-z_$][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error)(?::\\s*|$)");

    /**
     * A Java class name inside a message, as the JDK nests causes: {@code PKIX path building failed:
     * sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path}.
     */
    private static final Pattern CLASS_INSIDE =
            Pattern.compile("(?:[a-z_$][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error):\\s*");

    private Problems() {}

    /** {@code e} as one phrase, lower case first, without class names. */
    public static String describe(Throwable e) {
        Throwable t = meaningful(e);
        String m = message(t);
        if (t instanceof AccessDeniedException a) {
            return "permission denied: " + file(a);
        }
        if (t instanceof NoSuchFileException n) {
            return "no such file or directory: " + file(n);
        }
        if (t instanceof FileAlreadyExistsException f) {
            return "already exists: " + file(f);
        }
        if (t instanceof NotDirectoryException n) {
            return "not a directory: " + file(n);
        }
        if (t instanceof DirectoryNotEmptyException d) {
            return "directory not empty: " + file(d);
        }
        if (t instanceof FileSystemException f) {
            // e.g. "No space left on device", "Read-only file system"
            return f.getReason() != null
                    ? lowerFirst(f.getReason()) + ": " + file(f)
                    : "cannot use " + file(f);
        }
        if (t instanceof BindException) {
            return m != null && m.toLowerCase(Locale.ROOT).contains("in use")
                    ? "address already in use"
                    : m != null ? lowerFirst(m) : "cannot bind the address";
        }
        if (t instanceof ConnectException) {
            return m != null ? lowerFirst(m) : "connection refused";
        }
        if (t instanceof NoRouteToHostException) {
            return "no route to host";
        }
        if (t instanceof UnknownHostException) {
            return m != null ? "unknown host " + m : "unknown host";
        }
        if (t instanceof SocketTimeoutException
                || t instanceof HttpTimeoutException
                || t instanceof TimeoutException) {
            return "timed out";
        }
        if (t instanceof SSLHandshakeException) {
            return m != null ? m : "TLS handshake failed";
        }
        if (t instanceof SSLException) {
            return m != null ? m : "TLS error";
        }
        if (t instanceof ClosedChannelException) {
            return "closed";
        }
        if (t instanceof EOFException) {
            return m != null ? lowerFirst(m) : "closed before the end";
        }
        if (t instanceof CharacterCodingException) {
            return "not valid text in its character set";
        }
        if (ownWords(t)) {
            return t.toString(); // e.g. "bad signature: ...": the exception chose its words
        }
        if (m != null) {
            return m;
        }
        if (t instanceof java.io.IOException) {
            return "input/output error";
        }
        return "unexpected error (" + words(t.getClass().getSimpleName()) + ")";
    }

    /**
     * {@link #describe} for a message that already names the file: {@code cannot write FILE: permission denied}
     * rather than the file twice.
     */
    public static String reason(Throwable e) {
        Throwable t = meaningful(e);
        if (t instanceof FileSystemException f) {
            String d = describe(f);
            String file = file(f);
            return d.endsWith(": " + file) ? d.substring(0, d.length() - file.length() - 2) : d;
        }
        return describe(t);
    }

    /**
     * The exception that says what happened: through {@link CompletionException}, {@link ExecutionException},
     * {@link UncheckedIOException}, {@link InvocationTargetException}, and any exception that only repeats its cause.
     */
    public static Throwable meaningful(Throwable e) {
        Throwable t = e;
        for (int depth = 0; depth < 10 && t.getCause() != null && t.getCause() != t; depth++) {
            boolean wrapper =
                    t instanceof CompletionException
                            || t instanceof ExecutionException
                            || t instanceof UncheckedIOException
                            || t instanceof InvocationTargetException;
            String m = t.getMessage();
            if (!wrapper
                    && m != null
                    && !m.isBlank()
                    && !m.equals(t.getCause().toString())
                    && !CLASS_PREFIX.matcher(m).find()) {
                break;
            }
            t = t.getCause();
        }
        return t;
    }

    /** Whether {@code t}'s class writes its own {@code toString()} (instead of the class name and message). */
    private static boolean ownWords(Throwable t) {
        try {
            Class<?> declaring = t.getClass().getMethod("toString").getDeclaringClass();
            return declaring != Throwable.class && declaring.getName().startsWith("org.tlsrelay.");
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /** The message without a leading class name; null when there is none. */
    private static String message(Throwable t) {
        String m = t.getMessage();
        if (m == null) {
            return null;
        }
        String stripped = CLASS_PREFIX.matcher(m.strip()).replaceFirst("");
        stripped = CLASS_INSIDE.matcher(stripped).replaceAll("");
        return stripped.isBlank() ? null : stripped;
    }

    private static String file(FileSystemException f) {
        return f.getFile() != null ? f.getFile() : String.valueOf(f.getMessage());
    }

    private static String lowerFirst(String s) {
        // "Connection refused" -> "connection refused", but "TLS..." stays
        if (s.length() > 1
                && Character.isUpperCase(s.charAt(0))
                && Character.isLowerCase(s.charAt(1))) {
            return Character.toLowerCase(s.charAt(0)) + s.substring(1);
        }
        return s;
    }

    /** {@code IllegalStateException} -> {@code illegal state}: what the name says, without the Java. */
    static String words(String className) {
        String base = className.replaceAll("(Exception|Error)$", "");
        String spaced = base.replaceAll("([a-z0-9])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
        return spaced.isBlank() ? "unexpected error" : spaced;
    }
}
