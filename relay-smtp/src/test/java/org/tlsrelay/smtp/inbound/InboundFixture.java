package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.tlsrelay.core.config.ByteSize;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.config.Network;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.AcceptSigner;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.FreeSpace;
import org.tlsrelay.core.queue.SpaceReserve;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.testkit.TestCa;

/** A running inbound server on 127.0.0.1:0 with its own spool; tests configure it through the builder methods. */
public final class InboundFixture implements AutoCloseable {
    public static final String HOST = "relay.test";
    public static final TestCa CA = TestCa.create("tlsrelay inbound test CA");
    private static final TestCa.Issued CERT = CA.issue("localhost", "127.0.0.1");

    public final Path dir;
    public final Path spoolDir;
    public final Spool spool;
    public final InboundServer server;

    private InboundFixture(Path dir, Path spoolDir, Spool spool, InboundServer server) {
        this.dir = dir;
        this.spoolDir = spoolDir;
        this.spool = spool;
        this.server = server;
    }

    /** The real free space of the file system that holds {@code spoolDir}, with {@code reserve}. */
    public static FreeSpace freeSpace(Path spoolDir, SpaceReserve reserve) {
        try {
            return FreeSpace.of(spoolDir, reserve);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Settings a test may change; defaults are the relay's defaults with loopback allowed to relay. */
    public static final class Builder {
        List<String> networks = List.of("127.0.0.0/8", "::1/128");
        List<RelayConfig.User> users = List.of();
        boolean tls;
        ByteSize maxSize = ByteSize.parse("1MB");
        int maxRecipients = 100;
        int maxConnections = 50;
        Duration commandTimeout = Duration.ofSeconds(30);
        Duration dataTimeout = Duration.ofSeconds(30);
        int maxLineLength = 4096;
        Spool.Options spoolOptions = Spool.Options.defaults();
        RelayMetrics metrics = RelayMetrics.noop();
        Integer maxPerClient; // null: the relay's default
        List<String> exempt = List.of();
        Integer minDataRate;
        Duration minDataRateGrace;
        Integer maxErrors;
        Integer backlog;
        Duration shutdownGrace;
        Function<Path, FreeSpace> space = spoolDir -> freeSpace(spoolDir, SpaceReserve.NONE);
        Path spoolDir;

        public Builder networks(String... n) {
            networks = List.of(n);
            return this;
        }

        public Builder users(RelayConfig.User... u) {
            users = List.of(u);
            return this;
        }

        public Builder tls() {
            tls = true;
            return this;
        }

        public Builder maxSize(String s) {
            maxSize = ByteSize.parse(s);
            return this;
        }

        public Builder maxRecipients(int n) {
            maxRecipients = n;
            return this;
        }

        public Builder maxConnections(int n) {
            maxConnections = n;
            return this;
        }

        public Builder timeouts(Duration command, Duration data) {
            commandTimeout = command;
            dataTimeout = data;
            return this;
        }

        public Builder maxLineLength(int n) {
            maxLineLength = n;
            return this;
        }

        public Builder spool(Spool.Options o) {
            spoolOptions = o;
            return this;
        }

        public Builder metrics(RelayMetrics m) {
            metrics = m;
            return this;
        }

        public Builder maxConnectionsPerClient(int n) {
            maxPerClient = n;
            return this;
        }

        public Builder exempt(String... networks) {
            exempt = List.of(networks);
            return this;
        }

        public Builder minDataRate(int bytesPerSecond, Duration grace) {
            minDataRate = bytesPerSecond;
            minDataRateGrace = grace;
            return this;
        }

        public Builder maxErrors(int n) {
            maxErrors = n;
            return this;
        }

        public Builder backlog(int n) {
            backlog = n;
            return this;
        }

        public Builder shutdownGrace(Duration d) {
            shutdownGrace = d;
            return this;
        }

        /** The free space the server sees, made from the spool directory (default: the real one, no reserve). */
        public Builder space(Function<Path, FreeSpace> s) {
            space = s;
            return this;
        }

        /** Where the spool lives (default: DIR/spool), e.g. on a small file system of its own. */
        public Builder spoolDir(Path d) {
            spoolDir = d;
            return this;
        }

        public InboundFixture start(Path dir) throws IOException {
            RelayConfig.Tls t = new RelayConfig.Tls(null, null);
            if (tls) {
                t =
                        new RelayConfig.Tls(
                                CERT.writeCertificatePem(dir.resolve("cert.pem")),
                                CERT.writeKeyPem(dir.resolve("key.pem")));
            }
            RelayConfig.Server config =
                    new RelayConfig.Server(
                            new HostPort("127.0.0.1", 0),
                            HOST,
                            networks.stream().map(Network::parse).toList(),
                            new RelayConfig.Auth(users),
                            t,
                            new RelayConfig.Limits(
                                    maxSize,
                                    maxRecipients,
                                    maxConnections,
                                    commandTimeout,
                                    dataTimeout,
                                    maxLineLength,
                                    maxPerClient,
                                    exempt.stream().map(Network::parse).toList(),
                                    minDataRate,
                                    minDataRateGrace,
                                    maxErrors,
                                    backlog),
                            shutdownGrace);
            Path where = spoolDir != null ? spoolDir : dir.resolve("spool");
            Spool spool = Spool.open(where, spoolOptions);
            InboundServer server =
                    InboundServer.create(
                            config, spool, metrics, AcceptSigner.none(), space.apply(where));
            server.start();
            return new InboundFixture(dir, where, spool, server);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", server.port());
    }

    public RawSmtpClient connect() throws IOException {
        RawSmtpClient c = new RawSmtpClient(address());
        RawSmtpClient.expect(c.reply(), 220);
        return c;
    }

    /** Connects and says EHLO. */
    public RawSmtpClient ehlo() throws IOException {
        RawSmtpClient c = connect();
        RawSmtpClient.expect(c.command("EHLO client.test"), 250);
        return c;
    }

    public javax.net.ssl.SSLContext clientTls() {
        return CA.clientContext();
    }

    /** Names of the files in a state directory of the spool, sorted. */
    public List<String> files(String state) throws IOException {
        try (Stream<Path> s = Files.list(spoolDir.resolve(state))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    public Path spoolFile(String state, String name) {
        return spoolDir.resolve(state).resolve(name);
    }

    @Override
    public void close() throws IOException {
        server.close();
        spool.close();
    }
}
