package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.testkit.Await;

/**
 * Issue 11 §4: 2,000 connections opened at once are all greeted. Before, with a listen backlog of 256, about 1,000 of
 * them waited silently for a minute (SYN cookies, retransmitted SYNs); the backlog is now as large as the kernel
 * allows ({@code net.core.somaxconn}) and the greeting goes out as soon as a connection is accepted.
 */
class BurstTest {
    static final int CONNECTIONS = 2000;

    @TempDir Path dir;

    @Test
    void twoThousandConnectionsOpenedAtOnceAreAllGreeted() throws Exception {
        List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
        ExecutorService openers = Executors.newFixedThreadPool(8);
        try (InboundFixture f =
                InboundFixture.builder()
                        .maxConnections(CONNECTIONS + 100)
                        .exempt("127.0.0.0/8")
                        .start(dir)) {
            long t0 = System.nanoTime();
            List<Future<?>> opened = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                opened.add(
                        openers.submit(
                                () -> {
                                    for (int i = 0; i < CONNECTIONS / 8; i++) {
                                        Socket s = new Socket();
                                        sockets.add(s);
                                        s.connect(f.address(), 10_000);
                                    }
                                    return null;
                                }));
            }
            for (Future<?> o : opened) {
                o.get();
            }
            long connectedMs = (System.nanoTime() - t0) / 1_000_000;
            int greeted = 0;
            for (Socket s : sockets) {
                s.setSoTimeout(30_000);
                if (firstLine(s.getInputStream()).startsWith("220 ")) {
                    greeted++;
                }
            }
            long greetedMs = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(CONNECTIONS, greeted);
            System.out.printf(
                    "burst: %d connections opened in %d ms, all %d greeted (220) %d ms after the first%n",
                    CONNECTIONS, connectedMs, greeted, greetedMs);
            for (Socket s : sockets) {
                s.close();
            }
            Await.until(
                    () -> f.server.connections() == 0,
                    Duration.ofSeconds(30),
                    "every session to end once its client left");
        } finally {
            openers.shutdownNow();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    private static String firstLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c = in.read(); c >= 0 && c != '\n'; c = in.read()) {
            b.append((char) c);
        }
        return b.toString().strip();
    }
}
