package org.tlsrelay.bench;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.tlsrelay.testkit.DnsStubServer;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;

/**
 * The benchmark's DNS: a stub server on 127.0.0.1 that answers {@code --zone}'s MX with {@code --mx} and that host's
 * A record with {@code --address} (TTL five minutes); writes its port to {@code --port-file} and runs until killed.
 */
public final class BenchDns {
    private static final long TTL = 300;

    private BenchDns() {}

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
            // Real zones have TTLs, and the relay caches by them (Postfix, with relayhost =
            // [127.0.0.1], makes no look-up at all): five minutes, not the test stub's TTL 0.
            Name mxName = Name.fromString(mx + ".");
            dns.record(new MXRecord(Name.fromString(zone + "."), DClass.IN, TTL, 10, mxName));
            dns.record(new ARecord(mxName, DClass.IN, TTL, InetAddress.getByName(address)));
            dns.negativeTtl(TTL); // "no AAAA" is cached too, as a real zone's SOA allows
            Files.writeString(portFile, Integer.toString(dns.port()));
            new CountDownLatch(1).await();
        }
    }
}
