package org.tlsrelay.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on loopback in front of a plain SMTP server that forwards every byte both ways, line by line from the
 * client, until the client sends the {@code nth} command starting with {@code verb}: that line is held back and
 * nothing more is forwarded, so the client waits for a reply at a known point of its work (a crash test kills it
 * there). Real sockets both ways; it changes nothing it forwards.
 */
final class PausingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final String verb;
    private final int nth;
    private final AtomicInteger seen = new AtomicInteger();
    private final CountDownLatch paused = new CountDownLatch(1);
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    PausingProxy(InetSocketAddress target, String verb, int nth) throws IOException {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.target = target;
        this.verb = verb.toUpperCase(Locale.ROOT);
        this.nth = nth;
        Thread t = new Thread(this::accept, "pausing-proxy");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Waits until the {@code nth} command was held back. */
    void awaitPaused(Duration timeout) throws InterruptedException {
        if (!paused.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the client never sent " + verb + " number " + nth);
        }
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(target.getAddress(), target.getPort());
                sockets.add(client);
                sockets.add(upstream);
                pump(upstream.getInputStream(), client.getOutputStream(), false);
                pump(client.getInputStream(), upstream.getOutputStream(), true);
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(InputStream in, OutputStream out, boolean fromClient) {
        Thread t =
                new Thread(
                        () -> {
                            try {
                                if (!fromClient) {
                                    in.transferTo(out);
                                    return;
                                }
                                ByteArrayOutputStream line = new ByteArrayOutputStream();
                                for (int c = in.read(); c >= 0; c = in.read()) {
                                    line.write(c);
                                    if (c != '\n') {
                                        continue;
                                    }
                                    String text =
                                            line.toString(StandardCharsets.ISO_8859_1)
                                                    .toUpperCase(Locale.ROOT);
                                    if (text.startsWith(verb) && seen.incrementAndGet() == nth) {
                                        paused.countDown();
                                        return; // hold it back, and everything after it
                                    }
                                    out.write(line.toByteArray());
                                    out.flush();
                                    line.reset();
                                }
                            } catch (IOException e) {
                                // a side closed
                            }
                        },
                        "pausing-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
