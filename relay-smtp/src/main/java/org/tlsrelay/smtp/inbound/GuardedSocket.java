package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;

/**
 * The socket SubEthaSMTP's session is given: the accepted TCP socket, or the TLS socket layered over it after
 * STARTTLS, with the {@link ConnectionGuard}'s streams in place of its own. SubEthaSMTP's {@code Session} reads and
 * writes only through {@link #getInputStream()} and {@link #getOutputStream()}; everything else it asks (addresses,
 * state, close) is the inner socket's. Its own socket timeouts are ignored: the guard sets one before every read.
 */
final class GuardedSocket extends Socket {
    private final Socket inner;
    private final ConnectionGuard guard;
    private InputStream in;
    private OutputStream out;

    GuardedSocket(Socket inner, ConnectionGuard guard) throws IOException {
        super((SocketImpl) null); // an empty shell: every method SubEthaSMTP uses is the inner
        // socket's
        this.inner = inner;
        this.guard = guard;
    }

    ConnectionGuard guard() {
        return guard;
    }

    /** The socket below the guard (TCP, or TLS after STARTTLS). */
    Socket inner() {
        return inner;
    }

    @Override
    public synchronized InputStream getInputStream() throws IOException {
        if (in == null) {
            in = guard.input(inner.getInputStream(), inner);
        }
        return in;
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
        if (out == null) {
            out = guard.output(inner.getOutputStream());
        }
        return out;
    }

    @Override
    public void setSoTimeout(int timeout) {
        // The guard sets the timeout of every read from its deadlines.
    }

    @Override
    public int getSoTimeout() throws SocketException {
        return inner.getSoTimeout();
    }

    @Override
    public void close() {
        guard.closeRaw();
    }

    @Override
    public boolean isClosed() {
        return inner.isClosed();
    }

    @Override
    public boolean isBound() {
        return inner.isBound();
    }

    @Override
    public boolean isConnected() {
        return inner.isConnected();
    }

    @Override
    public boolean isInputShutdown() {
        return inner.isInputShutdown();
    }

    @Override
    public boolean isOutputShutdown() {
        return inner.isOutputShutdown();
    }

    @Override
    public void shutdownInput() throws IOException {
        inner.shutdownInput();
    }

    @Override
    public void shutdownOutput() throws IOException {
        inner.shutdownOutput();
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        return inner.getRemoteSocketAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return inner.getLocalSocketAddress();
    }

    @Override
    public InetAddress getInetAddress() {
        return inner.getInetAddress();
    }

    @Override
    public InetAddress getLocalAddress() {
        return inner.getLocalAddress();
    }

    @Override
    public int getPort() {
        return inner.getPort();
    }

    @Override
    public int getLocalPort() {
        return inner.getLocalPort();
    }

    @Override
    public void setTcpNoDelay(boolean on) throws SocketException {
        inner.setTcpNoDelay(on);
    }

    @Override
    public boolean getTcpNoDelay() throws SocketException {
        return inner.getTcpNoDelay();
    }

    @Override
    public String toString() {
        return "GuardedSocket[" + inner + "]";
    }
}
