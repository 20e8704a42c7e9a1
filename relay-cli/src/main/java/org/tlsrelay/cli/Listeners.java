package org.tlsrelay.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.ServerSocket;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.smtp.inbound.InboundServer;

/**
 * The relay's two listening sockets, {@code server.listen} (SMTP) and {@code admin.listen} (HTTP), bound before
 * anything else starts: an address in use stops {@code run} at once with one line, before the spool is opened, DNS is
 * asked or a scheduler runs. {@link Relay#start} hands them to the servers; close what it did not hand over.
 */
record Listeners(ServerSocket smtp, HttpServer admin) implements AutoCloseable {

    /** @throws IOException {@code cannot listen on ADDR: address already in use} (or what else the bind said) */
    static Listeners bind(RelayConfig config) throws IOException {
        ServerSocket smtp;
        try {
            smtp = InboundServer.bind(config.server());
        } catch (IOException e) {
            throw cannotListen(config.server().listen(), "", e);
        }
        try {
            return new Listeners(smtp, AdminServer.bind(config.admin().listen()));
        } catch (IOException e) {
            smtp.close();
            throw cannotListen(config.admin().listen(), " (admin.listen)", e);
        }
    }

    private static IOException cannotListen(HostPort address, String which, IOException e) {
        return new IOException(
                "cannot listen on " + address + which + ": " + Problems.describe(e), e);
    }

    @Override
    public void close() throws IOException {
        admin.stop(0);
        smtp.close();
    }
}
