package org.tlsrelay.smtp.handover;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;

/**
 * Whether a session with the other relay can carry a message with the envelope it was queued with, decided before
 * MAIL FROM: a pure function of the envelope and what the session showed. A message the session cannot carry stays
 * here (nothing is downgraded or dropped), with the reason for the operator.
 */
public final class HandOverRules {
    private HandOverRules() {}

    /** Why {@code env} ({@code size} octets) cannot go over this session; empty when it can. */
    public static Optional<String> refusal(Envelope env, long size, SessionFacts s) {
        if (env.requireTls()) {
            // RFC 8689 §4.2.1: only over TLS with a certificate verified by the client, to a server
            // that advertises REQUIRETLS itself
            if (!s.encrypted()) {
                return Optional.of(
                        "it requires TLS (REQUIRETLS, RFC 8689) and "
                                + s.relay()
                                + " offered no STARTTLS");
            }
            if (!s.verified()) {
                return Optional.of(
                        "it requires TLS (REQUIRETLS, RFC 8689) with a verified certificate: drain with"
                                + " --tls-verify (or --ca-file FILE) to hand it over");
            }
            if (!s.offers("REQUIRETLS")) {
                return Optional.of(
                        "it requires TLS (REQUIRETLS, RFC 8689) and "
                                + s.relay()
                                + " does not advertise REQUIRETLS");
            }
        }
        if (needsSmtpUtf8(env) && !s.offers("SMTPUTF8")) {
            return Optional.of(
                    "it needs SMTPUTF8 (RFC 6531) and " + s.relay() + " does not offer it");
        }
        if (env.body() == Envelope.BodyType.EIGHT_BIT_MIME && !s.offers("8BITMIME")) {
            return Optional.of(
                    "it is 8BITMIME (RFC 6152) and " + s.relay() + " does not offer 8BITMIME");
        }
        if (hasDsnParameters(env) && !s.offers("DSN")) {
            return Optional.of(
                    "its DSN parameters (RFC 3461) would be lost: "
                            + s.relay()
                            + " does not offer DSN");
        }
        if (s.sizeLimit() > 0 && size > s.sizeLimit()) {
            return Optional.of(
                    "its size, "
                            + size
                            + " octets, is above the limit of "
                            + s.relay()
                            + " ("
                            + s.sizeLimit()
                            + ")");
        }
        return Optional.empty();
    }

    /** The SMTPUTF8 parameter was given, or an address is not ASCII (RFC 6531 §3.2). */
    static boolean needsSmtpUtf8(Envelope env) {
        if (env.smtpUtf8() || !ascii(env.sender())) {
            return true;
        }
        // ORCPT travels as xtext (RFC 3461 §4.2), ASCII whatever it holds
        return env.pending().stream().anyMatch(r -> !ascii(r.address()));
    }

    static boolean hasDsnParameters(Envelope env) {
        if (env.ret() != Envelope.Ret.UNSPECIFIED || !env.envid().isEmpty()) {
            return true;
        }
        for (RecipientStatus r : env.pending()) {
            if (!r.dsnNotify().isEmpty() || !r.orcpt().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    private static boolean ascii(String s) {
        return StandardCharsets.US_ASCII.newEncoder().canEncode(s);
    }
}
