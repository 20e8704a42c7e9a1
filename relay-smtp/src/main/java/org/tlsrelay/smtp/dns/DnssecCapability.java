package org.tlsrelay.smtp.dns;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Whether the configured DNS servers return DNSSEC data at all: asked for the DNSKEY RRset of each trust anchor with
 * the DO bit, a DNSSEC-aware resolver answers with the keys and their RRSIG.
 *
 * <p>A server that answers but without them (a plain forwarder, a stub) cannot support validation of anything, so
 * nothing can be secure and DANE (RFC 7672 §2.1) can never apply; the relay then says so loudly and delivers under
 * MTA-STS, lists and overrides, as Postfix does behind a resolver that sets no AD bit. A server that does not answer
 * at all is a DNS failure, not an answer: validation stays on and look-ups fail (delivery defers), so an attacker
 * cannot switch DANE off by dropping packets. Re-checked every {@link #RECHECK}.
 */
final class DnssecCapability {
    static final Duration RECHECK = Duration.ofMinutes(5);
    private static final Logger LOG = LoggerFactory.getLogger(DnssecCapability.class);

    /** What the last probe found. */
    enum State {
        SUPPORTED,
        UNSUPPORTED,
        UNKNOWN
    }

    private final Resolver upstream;
    private final List<Name> anchors;
    private final String servers;
    private final Clock clock;
    private final AtomicBoolean probing = new AtomicBoolean();
    private volatile State state = State.UNKNOWN;
    private volatile Instant checked = Instant.EPOCH;

    DnssecCapability(Resolver upstream, List<Name> anchors, String servers, Clock clock) {
        this.upstream = upstream;
        this.anchors = List.copyOf(anchors);
        this.servers = servers;
        this.clock = clock;
    }

    /** The last known state; a stale one is probed again in the background (never blocks the caller). */
    State current() {
        if (clock.instant().isAfter(checked.plus(RECHECK)) && probing.compareAndSet(false, true)) {
            Thread t = new Thread(this::probeAndRelease, "dnssec-probe");
            t.setDaemon(true);
            t.start();
        }
        return state;
    }

    private void probeAndRelease() {
        try {
            probe();
        } finally {
            probing.set(false);
        }
    }

    /** Asks for every anchor's DNSKEY RRset with DNSSEC records requested; updates and logs the state. */
    synchronized void probe() {
        State found = State.SUPPORTED;
        String why = "";
        for (Name anchor : anchors) {
            Message query = Message.newQuery(Record.newRecord(anchor, Type.DNSKEY, DClass.IN));
            query.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
            try {
                Message answer = upstream.send(query);
                boolean keys =
                        !answer.getSection(Section.ANSWER).stream()
                                .filter(r -> r.getType() == Type.DNSKEY)
                                .toList()
                                .isEmpty();
                boolean sigs =
                        !answer.getSection(Section.ANSWER).stream()
                                .filter(r -> r.getType() == Type.RRSIG)
                                .toList()
                                .isEmpty();
                if (answer.getRcode() != Rcode.NOERROR || !keys || !sigs) {
                    found = State.UNSUPPORTED;
                    why =
                            "asked for the DNSKEY of \""
                                    + anchor
                                    + "\" with DNSSEC records, it answered "
                                    + Rcode.string(answer.getRcode())
                                    + (keys ? "" : " without keys")
                                    + (sigs ? "" : " without signatures");
                    break;
                }
            } catch (IOException e) {
                found = State.UNKNOWN; // no answer is not a "no": keep validating, look-ups fail
                // and delivery defers
                why = "no answer: " + e.getMessage();
            }
        }
        State before = state;
        state = found;
        checked = clock.instant();
        if (found == State.UNSUPPORTED && before != State.UNSUPPORTED) {
            LOG.error(
                    "DNS server(s) {} do not support DNSSEC ({}): nothing can be validated, so DANE does not apply "
                            + "and MTA-STS, policy lists and overrides decide. Use a DNSSEC-aware resolver (e.g. unbound) "
                            + "for DANE, or set dns.dnssec: off to say that this is intended.",
                    servers,
                    why);
        } else if (found == State.SUPPORTED && before == State.UNSUPPORTED) {
            LOG.info("DNS server(s) {} now return DNSSEC data: DANE applies again", servers);
        } else if (found == State.UNKNOWN) {
            LOG.warn(
                    "DNSSEC check of DNS server(s) {}: {}; validating look-ups will fail until they answer",
                    servers,
                    why);
        }
    }
}
