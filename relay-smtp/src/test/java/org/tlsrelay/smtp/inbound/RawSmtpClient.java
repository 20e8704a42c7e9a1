package org.tlsrelay.smtp.inbound;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A deliberately dumb SMTP client over a raw socket: it sends exactly the octets it is given (bare LFs, pipelined
 * commands, injected text) and reads replies line by line, so tests see precisely what the server does.
 */
public final class RawSmtpClient implements AutoCloseable {
    /** One SMTP reply: code and all its lines (without CRLF). */
    public record Reply(int code, List<String> lines) {
        public String last() {
            return lines.get(lines.size() - 1);
        }

        public String text() {
            return String.join("\n", lines);
        }

        @Override
        public String toString() {
            return text();
        }
    }

    private Socket socket;
    private InputStream in;
    private OutputStream out;

    public RawSmtpClient(InetSocketAddress server) throws IOException {
        this(server, null);
    }

    /** Connects from {@code local} (e.g. 127.0.0.2: another client on the loopback network). */
    public RawSmtpClient(InetSocketAddress server, java.net.InetAddress local) throws IOException {
        socket = new Socket();
        if (local != null) {
            socket.bind(new InetSocketAddress(local, 0));
        }
        socket.connect(server, 5000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    public Socket socket() {
        return socket;
    }

    public void timeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    /** Sends the text as is (UTF-8); add CRLFs yourself. */
    public RawSmtpClient send(String raw) throws IOException {
        return sendBytes(raw.getBytes(StandardCharsets.UTF_8));
    }

    public RawSmtpClient sendBytes(byte[] raw) throws IOException {
        out.write(raw);
        out.flush();
        return this;
    }

    /** Sends one command line with CRLF and reads its reply. */
    public Reply command(String line) throws IOException {
        send(line + "\r\n");
        return reply();
    }

    public Reply reply() throws IOException {
        List<String> lines = new ArrayList<>();
        while (true) {
            String line = readLine();
            if (line.length() < 3) {
                throw new IOException("malformed reply line: " + line);
            }
            lines.add(line);
            if (line.length() == 3 || line.charAt(3) == ' ') {
                return new Reply(Integer.parseInt(line.substring(0, 3)), lines);
            }
        }
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int prev = -1;
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException(
                        "connection closed; partial line: " + b.toString(StandardCharsets.UTF_8));
            }
            if (c == '\n' && prev == '\r') {
                byte[] a = b.toByteArray();
                return new String(a, 0, a.length - 1, StandardCharsets.UTF_8);
            }
            b.write(c);
            prev = c;
        }
    }

    /** Whether the server closed the connection (read returns end of stream). */
    public boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    /** Layers TLS over the connection after the server's 220 to STARTTLS; the client checks the host name. */
    public void startTls(SSLContext context, String host) throws IOException {
        SSLSocket s =
                (SSLSocket)
                        context.getSocketFactory()
                                .createSocket(socket, host, socket.getPort(), true);
        s.setUseClientMode(true);
        javax.net.ssl.SSLParameters p = s.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        s.setSSLParameters(p);
        s.startHandshake();
        socket = s;
        in = new BufferedInputStream(s.getInputStream());
        out = s.getOutputStream();
    }

    /** EHLO, MAIL, RCPT..., DATA, content, end — each step asserted 2xx/354; returns the final reply. */
    public Reply sendMessage(String from, List<String> to, String content) throws IOException {
        expect(command("MAIL FROM:<" + from + ">"), 250);
        for (String t : to) {
            expect(command("RCPT TO:<" + t + ">"), 250);
        }
        expect(command("DATA"), 354);
        send(content);
        send(".\r\n");
        return reply();
    }

    public static Reply expect(Reply r, int code) throws IOException {
        if (r.code() != code) {
            throw new IOException("expected " + code + " but got: " + r.text());
        }
        return r;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
