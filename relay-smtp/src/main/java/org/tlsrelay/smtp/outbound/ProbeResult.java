package org.tlsrelay.smtp.outbound;

import org.tlsrelay.core.enforce.TlsObservation;
import org.tlsrelay.core.enforce.Verdict;

/**
 * What a probe of one MX address found ({@code policy check}): greeting, capabilities, TLS observation and the verdict
 * the policy would give. No message was sent.
 */
public sealed interface ProbeResult {

    DeliveryTarget target();

    record Observed(
            DeliveryTarget target,
            SmtpReply greeting,
            Capabilities capabilities,
            TlsObservation observation,
            Verdict verdict)
            implements ProbeResult {}

    /** The policy does not allow this MX host: not connected (RFC 8461 §4.1). */
    record NotAllowed(DeliveryTarget target, Verdict.Refuse verdict) implements ProbeResult {}

    /** The MX could not be probed: no connection, or no usable greeting or EHLO. */
    record Failed(DeliveryTarget target, Stage stage, String detail) implements ProbeResult {}
}
