package org.tlsrelay.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.tlsrelay.testkit.DnsStubServer;

/**
 * The benchmark's DNS: a stub server on 127.0.0.1 that answers {@code --zone}'s MX with {@code --mx} and that host's
 * A record with {@code --address}; writes its port to {@code --port-file} and runs until killed.
 */
public final class BenchDns {
    private BenchDns() {
    }

    public static void main(String[] args) throws Exception {
        String zone = "bench.test";
        String mx = "sink.bench.test";
        String address = "127.0.0.1";
        Path portFile = Path.of("dns.port");
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--zone" -> zone = args[i + 1];
                case "--mx" -> mx = args[i + 1];
                case "--address" -> address = args[i + 1];
                case "--port-file" -> portFile = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        try (DnsStubServer dns = DnsStubServer.start()) {
            dns.mx(zone, 10, mx).a(mx, address);
            Files.writeString(portFile, Integer.toString(dns.port()));
            new CountDownLatch(1).await();
        }
    }
}
