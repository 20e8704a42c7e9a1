package org.tlsrelay.smtp.mtasts;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A TLS server on 127.0.0.1 that answers every request with the same raw bytes (or never answers), for HTTP shapes
 * the test HTTPS server does not produce: chunked bodies, no Content-Length, a server that stalls. It records the
 * SNI names clients sent.
 */
final class RawHttpsServer implements AutoCloseable {
    private final SSLServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<String> sniNames = new CopyOnWriteArrayList<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final byte[] response;

    private RawHttpsServer(SSLServerSocket server, byte[] response) {
        this.server = server;
        this.response = response;
    }

    /** Answers with {@code response}; null means: complete the handshake, read the request, then stay silent. */
    static RawHttpsServer start(SSLContext context, byte[] response) throws IOException {
        SSLServerSocket s = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
        RawHttpsServer r = new RawHttpsServer(s, response);
        r.threads.execute(r::accept);
        return r;
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    int port() {
        return server.getLocalPort();
    }

    List<String> sniNames() {
        return List.copyOf(sniNames);
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                SSLSocket s = (SSLSocket) server.accept();
                open.add(s);
                threads.execute(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(SSLSocket s) {
        try {
            s.startHandshake();
            if (s.getSession() instanceof ExtendedSSLSession ext) {
                for (SNIServerName n : ext.getRequestedServerNames()) {
                    if (n instanceof SNIHostName h) {
                        sniNames.add(h.getAsciiName());
                    }
                }
            }
            readRequest(s.getInputStream());
            if (response == null) {
                return; // stall: the socket stays open until close()
            }
            OutputStream out = s.getOutputStream();
            out.write(response);
            out.flush();
            s.close();
        } catch (IOException e) {
            // the client went away or refused the handshake
        }
    }

    private static void readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (true) {
            int c = in.read();
            if (c < 0) {
                return;
            }
            head.write(c);
            byte[] b = head.toByteArray();
            int n = b.length;
            if (n >= 4
                    && b[n - 4] == '\r'
                    && b[n - 3] == '\n'
                    && b[n - 2] == '\r'
                    && b[n - 1] == '\n') {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            s.close();
        }
        threads.shutdownNow();
    }
}
