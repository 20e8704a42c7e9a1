package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.dns.TlsaRecord;

/** Identical look-ups in flight together go to DNS once; nothing is remembered after the answer. */
class CoalescingDnsTest {
    /** A resolver whose answers the test gives by hand. */
    private static final class Manual implements DnsResolver {
        final List<CompletableFuture<DnsResult<List<MxRecord>>>> asked = new ArrayList<>();

        @Override
        public CompletableFuture<DnsResult<List<MxRecord>>> mx(String domain) {
            CompletableFuture<DnsResult<List<MxRecord>>> f = new CompletableFuture<>();
            asked.add(f);
            return f;
        }

        @Override
        public CompletableFuture<DnsResult<List<InetAddress>>> addresses(String host) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<DnsResult<List<String>>> txt(String name) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<DnsResult<List<TlsaRecord>>> tlsa(String name) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void sharesOneQueryWhileItRunsAndAsksAgainAfterwards() {
        Manual dns = new Manual();
        CoalescingDns c = new CoalescingDns(dns);

        var first = c.mx("example.test");
        var second = c.mx("Example.TEST.");
        assertEquals(1, dns.asked.size(), "one query for both");
        DnsResult<List<MxRecord>> answer =
                new DnsResult.Found<>(
                        "example.test",
                        "example.test",
                        List.of(new MxRecord(10, "mx.example.test")));
        dns.asked.get(0).complete(answer);
        assertSame(answer, first.join());
        assertSame(answer, second.join());

        var third = c.mx("example.test");
        assertEquals(2, dns.asked.size(), "a look-up after the answer asks again");
        assertTrue(!third.isDone());
    }
}
