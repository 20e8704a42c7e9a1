package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tlsrelay run} binds its listeners before anything else: a port in use ends it at once with one line and exit
 * status 2, before the spool is opened, DNS is asked (here a DNSSEC check against a server that never answers would
 * take seconds and log) or a scheduler starts; no stack trace, no Java class name.
 */
class StartupErrorsTest {
    @TempDir Path dir;

    private Path config(String listen, String admin) throws Exception {
        return Files.writeString(
                dir.resolve("tlsrelay.yaml"),
                """
                server: { listen: "%s", hostname: relay.test }
                admin: { listen: "%s" }
                spool: { dir: "%s" }
                dns: { servers: ["127.0.0.1:9"], timeout: 5s, dnssec: validate }
                """
                        .formatted(listen, admin, dir.resolve("data/spool")));
    }

    private List<String> runExpectingExit2(Path config) throws Exception {
        try (RelayProcess relay = RelayProcess.start("run", "--config", config.toString())) {
            assertTrue(relay.process.waitFor(60, TimeUnit.SECONDS), "run did not stop by itself");
            List<String> out = relay.drain();
            assertEquals(2, relay.process.exitValue(), String.join("\n", out));
            return out;
        }
    }

    @Test
    void smtpPortInUseStopsTheStartBeforeAnythingElse() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String address = "127.0.0.1:" + taken.getLocalPort();
            List<String> out = runExpectingExit2(config(address, "127.0.0.1:0"));
            assertEquals(
                    List.of("tlsrelay: cannot listen on " + address + ": address already in use"),
                    out);
        }
        assertFalse(Files.exists(dir.resolve("data")), "the spool was not created");
    }

    @Test
    void adminPortInUseToo() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String address = "127.0.0.1:" + taken.getLocalPort();
            List<String> out = runExpectingExit2(config("127.0.0.1:0", address));
            assertEquals(
                    List.of(
                            "tlsrelay: cannot listen on "
                                    + address
                                    + " (admin.listen): address already in use"),
                    out);
        }
        assertFalse(Files.exists(dir.resolve("data")), "the spool was not created");
    }
}
