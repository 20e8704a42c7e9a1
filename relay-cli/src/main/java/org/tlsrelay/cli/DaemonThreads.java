package org.tlsrelay.cli;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Thread factories for the relay's background work: daemon threads (the stop is explicit, so none may keep a command's
 * JVM alive) named for what they do, so that a thread dump reads by itself.
 */
final class DaemonThreads {
    private DaemonThreads() {}

    /** Every thread named {@code name} ({@code mta-sts}, {@code tls-rpt}). */
    static ThreadFactory named(String name) {
        return r -> daemon(r, name);
    }

    /** Threads named {@code prefix1}, {@code prefix2}, ... ({@code admin-http-1}). */
    static ThreadFactory numbered(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> daemon(r, prefix + n.incrementAndGet());
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
