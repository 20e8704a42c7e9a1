package org.tlsrelay.smtp.dns;

import org.tlsrelay.testkit.SignedZone;

/**
 * The signed test tree of the DNSSEC tests, shaped like the real one: a TLD {@code test.} signed with NSEC3 Opt-Out
 * (as {@code .com}); below it {@code n3.test} (NSEC3 without Opt-Out) with an MX, its address and a TLSA record,
 * {@code nsec.test} (NSEC), {@code bogus.test} (NSEC3, its MX host's address signature broken), the unsigned
 * {@code plain.test}, and the unsigned {@code a.ent.test} and {@code b.ent.test}, which make {@code ent.test} an empty
 * non-terminal without an NSEC3 record of its own.
 */
final class DnssecTree {
    static final String EE = "3 1 1 " + "ab".repeat(32);

    private DnssecTree() {}

    static SignedZone build() {
        SignedZone root = SignedZone.signed("test").nsec3(true);
        root.delegate(
                        SignedZone.signed("n3.test")
                                .nsec3(false)
                                .mx("n3.test", 10, "mx.n3.test")
                                .a("mx.n3.test", "127.0.0.1")
                                .tlsa("_25._tcp.mx.n3.test", EE))
                .delegate(SignedZone.signed("nsec.test").mx("nsec.test", 10, "mx.n3.test"))
                .delegate(
                        SignedZone.signed("bogus.test")
                                .nsec3(false)
                                .mx("bogus.test", 10, "mx.bogus.test")
                                .a("mx.bogus.test", "127.0.0.5")
                                .tamper("mx.bogus.test", "A"))
                .delegate(
                        SignedZone.unsigned("plain.test")
                                .mx("plain.test", 10, "mx.plain.test")
                                .a("mx.plain.test", "127.0.0.2"))
                .delegate(SignedZone.unsigned("a.ent.test").a("a.ent.test", "127.0.0.3"))
                .delegate(SignedZone.unsigned("b.ent.test").a("b.ent.test", "127.0.0.4"));
        return root;
    }
}
