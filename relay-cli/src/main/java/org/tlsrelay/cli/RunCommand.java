package org.tlsrelay.cli;

import java.io.IOException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.RelayConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code tlsrelay run}: the relay in the foreground until SIGTERM or SIGINT. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the relay: recover the spool, listen on server.listen, queue accepted mail durably "
                + "before answering 250, and deliver it under each recipient domain's TLS policy (retrying, and "
                + "bouncing after delivery.retry.max-age). Logs one line saying where it listens. Stops cleanly on "
                + "SIGTERM or SIGINT (stops accepting, lets a message being queued finish, lets running deliveries "
                + "finish, closes the spool)."},
        footer = {"%nExample:%n  tlsrelay run --config /etc/tlsrelay/tlsrelay.yaml"})
final class RunCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Mixin
    ConfigOption config;

    @Override
    public Integer call() throws Exception {
        RelayConfig c = config.load();
        Relay relay;
        try {
            relay = Relay.start(c);
        } catch (IOException | IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("stopping");
            try {
                relay.close();
            } finally {
                LOG.info("stopped");
                stopped.countDown();
            }
        }, "tlsrelay-shutdown"));
        LOG.info("tlsrelay listening on {} as {}; spool {}; relaying for {} and authenticated users",
                hostPort(relay), c.server().hostname(), c.spool().dir().toAbsolutePath().normalize(),
                c.server().networks().stream().map(Object::toString).collect(Collectors.joining(", ")));
        stopped.await();
        return 0;
    }

    private static String hostPort(Relay relay) {
        var a = relay.address();
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
