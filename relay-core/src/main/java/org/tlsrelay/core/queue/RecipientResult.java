package org.tlsrelay.core.queue;

import java.util.Objects;

/**
 * What one delivery attempt achieved for one recipient, as the delivery engine reports it to
 * {@link Spool#record(String, java.util.List, java.util.List)}.
 *
 * @param address the recipient, exactly as in the envelope
 * @param outcome {@code DELIVERED} (2xx), {@code PENDING} (4xx or no usable MX: try again later) or {@code FAILED}
 *     (5xx: bounce)
 * @param reply the MX's reply or the reason, e.g. {@code 250 2.0.0 Ok} or {@code 4.7.5 no MX passed the policy}
 */
public record RecipientResult(String address, RecipientStatus.State outcome, String reply) {
    public RecipientResult {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(outcome, "outcome");
        reply = reply == null ? "" : reply;
    }

    public static RecipientResult delivered(String address, String reply) {
        return new RecipientResult(address, RecipientStatus.State.DELIVERED, reply);
    }

    public static RecipientResult deferred(String address, String reply) {
        return new RecipientResult(address, RecipientStatus.State.PENDING, reply);
    }

    public static RecipientResult failed(String address, String reply) {
        return new RecipientResult(address, RecipientStatus.State.FAILED, reply);
    }
}
