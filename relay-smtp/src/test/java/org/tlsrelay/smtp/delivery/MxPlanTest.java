package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.tlsrelay.testkit.FakeDnsResolver;

/** MX selection as RFC 5321 §5.1 and RFC 7505 describe it, against a zone in memory. */
class MxPlanTest {
    private final FakeDnsResolver dns = new FakeDnsResolver();

    private MxPlan plan(String domain, long seed) {
        return MxPlan.lookUp(dns, domain, new Random(seed)).join();
    }

    private static List<String> names(MxPlan plan) {
        return assertInstanceOf(MxPlan.Hosts.class, plan).hosts().stream()
                .map(MxPlan.MxHost::name)
                .toList();
    }

    @Test
    void ordersByPreferenceAndShufflesEqualPreferences() {
        dns.mx("example.test", 20, "b1.example.test")
                .mx("example.test", 10, "a.example.test")
                .mx("example.test", 20, "b2.example.test")
                .mx("example.test", 30, "c.example.test");
        Set<List<String>> orders = new HashSet<>();
        for (long seed = 0; seed < 40; seed++) {
            List<String> n =
                    names(
                            plan(
                                    "example.test",
                                    seed * 0x9E3779B97F4A7C15L)); // spread: close seeds correlate
            assertEquals("a.example.test", n.get(0));
            assertEquals(Set.of("b1.example.test", "b2.example.test"), Set.copyOf(n.subList(1, 3)));
            assertEquals("c.example.test", n.get(3));
            orders.add(n);
        }
        assertEquals(2, orders.size(), "both orders of the equal-preference pair occur");
    }

    @Test
    void aHostListedTwiceIsTriedOnceAtItsBestPreference() {
        dns.mx("example.test", 10, "mx.example.test")
                .mx("example.test", 20, "mx.example.test")
                .mx("example.test", 15, "other.example.test");
        assertEquals(
                List.of("mx.example.test", "other.example.test"), names(plan("example.test", 1)));
    }

    @Test
    void nullMxMeansNoDeliveryEvenBesideOtherRecords() {
        dns.mx("nomail.test", 0, ".").mx("nomail.test", 10, "mx.nomail.test");
        assertInstanceOf(MxPlan.NullMx.class, plan("nomail.test", 1));
    }

    @Test
    void withoutMxTheDomainIsItsOwnImplicitMx() {
        dns.a("plain.test", "127.0.0.1");
        MxPlan.Hosts hosts = assertInstanceOf(MxPlan.Hosts.class, plan("plain.test", 1));
        assertTrue(hosts.implicit());
        assertEquals("plain.test", hosts.hosts().get(0).name());
        assertEquals(1, hosts.hosts().get(0).addresses().size());
    }

    @Test
    void aDomainThatDoesNotExistOrHasNoAddressIsUndeliverable() {
        assertInstanceOf(MxPlan.Undeliverable.class, plan("nowhere.test", 1));
        dns.txt("textonly.test", "v=spf1 -all");
        assertInstanceOf(MxPlan.Undeliverable.class, plan("textonly.test", 1));
    }

    @Test
    void aDnsFailureIsTemporary() {
        dns.servfail("broken.test");
        assertInstanceOf(MxPlan.TryLater.class, plan("broken.test", 1));
        dns.timeout("slow.test");
        assertInstanceOf(MxPlan.TryLater.class, plan("slow.test", 1));
        dns.txt("noaddr.test", "x").servfail("noaddr.test");
        assertInstanceOf(MxPlan.TryLater.class, plan("noaddr.test", 1));
    }
}
