package org.tlsrelay.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.tlsrelay.testkit.TestCa;

/**
 * The benchmark's destination MX: an SMTP sink on 127.0.0.1 that offers STARTTLS with a certificate for
 * {@code --name} issued by a CA made at start (written to {@code --ca-out} for the relays to trust), accepts
 * everything, and counts messages. When {@code --expect N} messages have arrived it writes the time of the first
 * and last one to {@code --done-file} (epoch millis, "first last count handshakes": the last field is the number of TLS
 * handshakes after the warm-up, i.e. the TLS connections the measured messages took). With {@code --warmup W}, the
 * first W messages are a warm-up: when they have arrived it writes {@code --warm-file}, and {@code --expect} counts the
 * messages after them.
 *
 * <p>Arguments: {@code --name HOST --ca-out FILE --port-file FILE --expect N --done-file FILE [--warmup W
 * --warm-file FILE]}.
 */
public final class TlsSink {
    private final SSLContext tls;
    private final long expect;
    private final Path doneFile;
    private final long warmup;
    private final Path warmFile;
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong first = new AtomicLong();
    private final AtomicLong handshakes = new AtomicLong();
    private final AtomicLong handshakesAtWarm = new AtomicLong();

    private TlsSink(SSLContext tls, long expect, Path doneFile, long warmup, Path warmFile) {
        this.tls = tls;
        this.expect = expect;
        this.doneFile = doneFile;
        this.warmup = warmup;
        this.warmFile = warmFile;
    }

    public static void main(String[] args) throws Exception {
        String name = "sink.bench.test";
        Path caOut = Path.of("ca.pem");
        Path portFile = Path.of("sink.port");
        Path doneFile = Path.of("sink.done");
        long expect = Long.MAX_VALUE;
        long warmup = 0;
        Path warmFile = Path.of("sink.warm");
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--name" -> name = args[i + 1];
                case "--ca-out" -> caOut = Path.of(args[i + 1]);
                case "--port-file" -> portFile = Path.of(args[i + 1]);
                case "--done-file" -> doneFile = Path.of(args[i + 1]);
                case "--expect" -> expect = Long.parseLong(args[i + 1]);
                case "--warmup" -> warmup = Long.parseLong(args[i + 1]);
                case "--warm-file" -> warmFile = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        TestCa ca = TestCa.create("tlsrelay bench CA");
        ca.writeCertificatePem(caOut);
        TestCa.Issued cert = ca.issue(name);
        TlsSink sink = new TlsSink(cert.serverContext(), expect, doneFile, warmup, warmFile);
        try (ServerSocket server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress())) {
            Files.writeString(portFile, Integer.toString(server.getLocalPort()));
            ExecutorService pool = Executors.newCachedThreadPool();
            while (true) {
                Socket s = server.accept();
                pool.execute(() -> sink.serve(s));
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            Session session = new Session(socket);
            session.run();
        } catch (IOException e) {
            // A client going away mid-session is normal for a sink.
        }
    }

    private final class Session {
        private Socket socket;
        private InputStream in;
        private OutputStream out;
        private boolean tlsActive;

        Session(Socket socket) throws IOException {
            attach(socket);
        }

        private void attach(Socket s) throws IOException {
            socket = s;
            in = new BufferedInputStream(s.getInputStream(), 65536);
            out = new BufferedOutputStream(s.getOutputStream(), 65536);
        }

        void run() throws IOException {
            reply("220 sink.bench.test ESMTP tlsrelay bench sink");
            flush();
            String line;
            while ((line = readLine()) != null) {
                String verb =
                        line.length() >= 4
                                ? line.substring(0, 4).toUpperCase()
                                : line.toUpperCase();
                switch (verb) {
                    case "EHLO" -> {
                        reply("250-sink.bench.test");
                        reply("250-PIPELINING");
                        reply("250-8BITMIME");
                        reply("250-SIZE 104857600");
                        if (!tlsActive) {
                            reply("250-STARTTLS");
                        }
                        reply("250 ENHANCEDSTATUSCODES");
                    }
                    case "HELO" -> reply("250 sink.bench.test");
                    case "STAR" -> {
                        reply("220 2.0.0 go ahead");
                        flush();
                        SSLSocket ssl =
                                (SSLSocket)
                                        tls.getSocketFactory().createSocket(socket, null, false);
                        ssl.setUseClientMode(false);
                        ssl.startHandshake();
                        handshakes.incrementAndGet();
                        attach(ssl);
                        tlsActive = true;
                        continue;
                    }
                    case "MAIL", "RCPT", "RSET", "NOOP" -> reply("250 2.0.0 ok");
                    case "DATA" -> {
                        reply("354 go ahead");
                        flush();
                        readData();
                        long n = count.incrementAndGet();
                        if (n == warmup + 1) {
                            first.set(System.currentTimeMillis());
                        }
                        if (n == warmup) {
                            handshakesAtWarm.set(handshakes.get());
                        }
                        reply("250 2.0.0 ok " + n);
                        if (warmup > 0 && n == warmup) {
                            Files.writeString(
                                    warmFile, System.currentTimeMillis() + " " + n + "\n");
                        }
                        if (n == warmup + expect) {
                            Files.writeString(
                                    doneFile,
                                    first.get()
                                            + " "
                                            + System.currentTimeMillis()
                                            + " "
                                            + n
                                            + " "
                                            + (handshakes.get() - handshakesAtWarm.get())
                                            + "\n");
                        }
                    }
                    case "QUIT" -> {
                        reply("221 2.0.0 bye");
                        flush();
                        return;
                    }
                    default -> reply("502 5.5.2 not implemented");
                }
                if (in.available() == 0) {
                    flush(); // RFC 2920: answer a pipelined group once it has been read
                }
            }
        }

        private void readData() throws IOException {
            String line;
            while ((line = readLine()) != null) {
                if (line.equals(".")) {
                    return;
                }
            }
        }

        private final ByteArrayOutputStream buf = new ByteArrayOutputStream(1024);

        private String readLine() throws IOException {
            buf.reset();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    int n = buf.size();
                    byte[] b = buf.toByteArray();
                    return new String(
                            b,
                            0,
                            n > 0 && b[n - 1] == '\r' ? n - 1 : n,
                            StandardCharsets.ISO_8859_1);
                }
                buf.write(c);
            }
            return null;
        }

        private void reply(String text) throws IOException {
            out.write((text + "\r\n").getBytes(StandardCharsets.US_ASCII));
        }

        private void flush() throws IOException {
            out.flush();
        }
    }
}
