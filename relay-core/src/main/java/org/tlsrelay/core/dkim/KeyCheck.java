package org.tlsrelay.core.dkim;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tlsrelay.core.dns.DnsResult;

/**
 * Whether DNS publishes a configured key: the answer for {@code SELECTOR._domainkey.DOMAIN} (TXT, strings joined,
 * RFC 6376 §3.6.2.2) compared with the key. A pure function of the key and the DNS result, so the command and the
 * tests share it.
 *
 * @param status the verdict
 * @param detail what was found and what to do, one line
 * @param published the TXT records found (empty unless DNS answered with records)
 */
public record KeyCheck(Status status, String detail, List<String> published) {

    public KeyCheck {
        published = List.copyOf(published);
    }

    /** The verdicts ({@link #label()} is the JSON value). */
    public enum Status {
        /** A key record publishes the configured key. */
        MATCH,
        /** Key records exist, none with the configured key. */
        MISMATCH,
        /** The record there revokes the key ({@code p=} empty). */
        REVOKED,
        /** TXT records exist, none of them a valid DKIM key record. */
        INVALID,
        /** No TXT record at the name. */
        MISSING,
        /** DNS gave no answer (SERVFAIL, timeout, ...): nothing is known. */
        DNS_ERROR;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    public boolean matches() {
        return status == Status.MATCH;
    }

    /** Compares what DNS said about {@code key.recordName()} with {@code key}. */
    public static KeyCheck of(SigningKey key, DnsResult<List<String>> answer) {
        String publish = "publish: " + KeyRecord.render(key);
        if (answer instanceof DnsResult.Failed<List<String>> f) {
            return new KeyCheck(Status.DNS_ERROR, "DNS look-up failed: " + f.describe(), List.of());
        }
        if (!(answer instanceof DnsResult.Found<List<String>> found)) {
            return new KeyCheck(
                    Status.MISSING,
                    "no TXT record at " + key.recordName() + "; " + publish,
                    List.of());
        }
        List<String> records = found.value();
        List<KeyRecord> valid = new ArrayList<>();
        String firstProblem = "";
        for (String r : records) {
            KeyRecord.Parsed p = KeyRecord.parse(r);
            if (p instanceof KeyRecord.Parsed.Valid v) {
                valid.add(v.record());
            } else if (firstProblem.isEmpty()) {
                firstProblem = ((KeyRecord.Parsed.Invalid) p).reason();
            }
        }
        for (KeyRecord r : valid) {
            if (r.publishes(key)) {
                String note =
                        records.size() > 1
                                ? " (" + records.size() + " TXT records: publish only one)"
                                : "";
                return new KeyCheck(
                        Status.MATCH,
                        "the published key matches"
                                + (r.testing() ? "; t=y: receivers treat it as a test key" : "")
                                + note,
                        records);
            }
        }
        if (valid.stream().anyMatch(KeyRecord::revoked)) {
            return new KeyCheck(
                    Status.REVOKED,
                    "the record revokes the key (p= is empty); " + publish,
                    records);
        }
        if (!valid.isEmpty()) {
            KeyRecord r = valid.get(0);
            String what =
                    r.keyType().equals(key.algorithm().keyType())
                            ? "another " + r.keyType() + " key"
                            : "a key of type " + r.keyType();
            return new KeyCheck(
                    Status.MISMATCH,
                    "the record publishes " + what + ", not this one; " + publish,
                    records);
        }
        return new KeyCheck(
                Status.INVALID,
                "the TXT record is not a DKIM key record (" + firstProblem + "); " + publish,
                records);
    }
}
