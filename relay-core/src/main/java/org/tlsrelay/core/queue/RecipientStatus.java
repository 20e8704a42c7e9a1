package org.tlsrelay.core.queue;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * One envelope recipient with its DSN parameters (RFC 3461 §4.1 NOTIFY, §4.2 ORCPT) and its delivery state, persisted
 * after every attempt so a crash never forgets a recipient that is still pending.
 *
 * @param address the forward-path mailbox as the client gave it (RFC 5321 §4.1.2), without angle brackets
 * @param dsnNotify the NOTIFY values (JSON {@code notify}); empty when the client gave none (RFC 3461 §4.1: then FAILURE and DELAY apply)
 * @param orcpt the ORCPT value, xtext-decoded, as {@code addr-type;address} (e.g. {@code rfc822;a@example.com});
 *     empty when none was given
 * @param state where delivery to this recipient stands
 * @param attempts delivery attempts made for this recipient
 * @param lastReply the last reply or reason for this recipient (e.g. the MX's {@code 250 2.0.0 Ok}); empty before the
 *     first attempt
 * @param updated when {@code state} or {@code lastReply} last changed; the arrival time before the first attempt
 */
public record RecipientStatus(
        String address,
        @JsonProperty("notify") Set<Notify> dsnNotify,
        String orcpt,
        State state,
        int attempts,
        String lastReply,
        Instant updated) {

    /** Where delivery to one recipient stands. */
    public enum State {
        /** Not delivered yet: never tried, or deferred after a temporary failure. */
        PENDING,
        /** An MX accepted it (2xx). */
        DELIVERED,
        /** Failed permanently (5xx, or the retry time ran out); a bounce is due unless NOTIFY says otherwise. */
        FAILED
    }

    /** RFC 3461 §4.1 NOTIFY values. */
    public enum Notify {
        NEVER,
        SUCCESS,
        FAILURE,
        DELAY
    }

    public RecipientStatus {
        Objects.requireNonNull(address, "address");
        dsnNotify =
                dsnNotify == null || dsnNotify.isEmpty()
                        ? Set.of()
                        : Collections.unmodifiableSet(EnumSet.copyOf(dsnNotify));
        orcpt = orcpt == null ? "" : orcpt;
        state = state == null ? State.PENDING : state;
        lastReply = lastReply == null ? "" : lastReply;
        Objects.requireNonNull(updated, "updated");
        if (attempts < 0) {
            throw new IllegalArgumentException("attempts must not be negative");
        }
    }

    /** A recipient that has not been tried yet. */
    public static RecipientStatus pending(
            String address, Set<Notify> notify, String orcpt, Instant arrival) {
        return new RecipientStatus(address, notify, orcpt, State.PENDING, 0, "", arrival);
    }

    public boolean isPending() {
        return state == State.PENDING;
    }

    /** The domain part, lower-cased: what the delivery engine groups recipients by. */
    public String domain() {
        return Addresses.domainOf(address);
    }

    /** This recipient after an attempt with the given outcome. */
    public RecipientStatus after(State outcome, String reply, Instant when) {
        return new RecipientStatus(address, dsnNotify, orcpt, outcome, attempts + 1, reply, when);
    }
}
