package org.tlsrelay.core.enforce;

import java.time.Instant;
import org.tlsrelay.core.tls.TlsResult;

/**
 * One TLS outcome, as a TLS-RPT report (RFC 8460 §4.4) aggregates it: one per connection and policy domain (a
 * reused connection does not report the same domain twice), and one for an MX skipped before connecting because
 * it is not in an enforced policy.
 *
 * @param time when the outcome was decided (the caller's clock; {@link Enforcer} reads none)
 * @param policy the policy in force for this MX host, and its domain
 * @param mxHost the MX host name as found in DNS ({@code receiving-mx-hostname})
 * @param mxHelo the name the MX gave in its greeting ({@code receiving-mx-helo}); empty when unknown
 * @param sendingIp our local address ({@code sending-mta-ip}); empty when no connection was made
 * @param receivingIp the MX address ({@code receiving-ip})
 * @param result success or the failure type
 * @param verdict what the policy made of it: {@code deliver-tls}, {@code deliver-clear} or {@code refuse}
 * @param additionalInfo what the connection showed, for {@code additional-information} and logs
 */
public record TlsOutcome(
        Instant time,
        MxPolicy policy,
        String mxHost,
        String mxHelo,
        String sendingIp,
        String receivingIp,
        TlsResult result,
        String verdict,
        String additionalInfo) {

    public boolean success() {
        return result instanceof TlsResult.Success;
    }
}
