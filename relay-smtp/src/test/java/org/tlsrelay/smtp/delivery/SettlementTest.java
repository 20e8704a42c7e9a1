package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientResult;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.RetrySchedule;

/**
 * What an attempt's results mean for a message, as a table: the recipients' outcomes and the message's state in,
 * the DSN to send and what happens to the message out. No spool, no clock: the function is pure.
 */
class SettlementTest {
    private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");
    private static final RetrySchedule RETRY =
            new RetrySchedule(
                    List.of(Duration.ofMinutes(5), Duration.ofHours(1)), Duration.ofDays(5));

    /**
     * outcomes: one per recipient rN@dN.test, {@code STATE[/NOTIFY[+NOTIFY]][/dsn-mx]}: its state after the attempt,
     * its NOTIFY (RFC 3461 §4.1; none: the default) and whether the accepting MX offered DSN itself. sender: a
     * mailbox or {@code <>}; age: {@code new} (first attempt), {@code max-age} (arrived five days ago: the last
     * attempt); stopped: the engine stopped before some attempts ran; queued: whether the DSN could be queued;
     * early: domains already recorded while others ran. Expected: the DSN entries ({@code rN:action}), what happens
     * ({@code complete}, {@code defer}, {@code give-back}), what is recorded ({@code rN=STATE}), how many failed, and
     * when the next attempt is ({@code +5m}, {@code expiry}, ...).
     */
    @ParameterizedTest(
            name = "{0} from {1} age={2} stopped={3} queued={4} early={5} -> dsn={6} {7} {8}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            # outcomes                                 | sender     | age     | stopped | queued | early | dsn                   | next      | recorded                              | failed | until
            DELIVERED                                  | s@x.test   | new     | n       | y      | -     | -                     | complete  | -                                     | 0      | -
            DELIVERED FAILED                           | s@x.test   | new     | n       | y      | -     | r2:failed             | complete  | -                                     | 1      | -
            DELIVERED FAILED                           | s@x.test   | new     | n       | n      | -     | r2:failed             | defer     | r1=DELIVERED r2=PENDING               | 0      | +5m
            DELIVERED FAILED                           | <>         | new     | n       | y      | -     | -                     | complete  | -                                     | 1      | -
            FAILED/NEVER                               | s@x.test   | new     | n       | y      | -     | -                     | complete  | -                                     | 1      | -
            FAILED/SUCCESS                             | s@x.test   | new     | n       | y      | -     | -                     | complete  | -                                     | 1      | -
            DELIVERED/SUCCESS PENDING                  | s@x.test   | new     | n       | y      | -     | r1:relayed            | defer     | r1=DELIVERED r2=PENDING               | 0      | +5m
            DELIVERED/SUCCESS/dsn-mx PENDING           | s@x.test   | new     | n       | y      | -     | -                     | defer     | r1=DELIVERED r2=PENDING               | 0      | +5m
            DELIVERED PENDING                          | s@x.test   | new     | n       | y      | d1    | -                     | defer     | r2=PENDING                            | 0      | +5m
            PENDING PENDING                            | s@x.test   | max-age | n       | y      | -     | r1:failed r2:failed   | complete  | -                                     | 2      | -
            PENDING PENDING/NEVER                      | s@x.test   | max-age | n       | y      | -     | r1:failed             | complete  | -                                     | 2      | -
            PENDING PENDING/NEVER                      | s@x.test   | max-age | n       | n      | -     | r1:failed             | defer     | r1=PENDING r2=PENDING                 | 0      | +5m
            PENDING                                    | s@x.test   | max-age | y       | y      | -     | -                     | give-back | r1=PENDING                            | 0      | -
            DELIVERED PENDING                          | s@x.test   | new     | y       | y      | -     | -                     | give-back | r1=DELIVERED r2=PENDING               | 0      | -
            """)
    void settlesTheMessage(
            String outcomes,
            String sender,
            String age,
            String stopped,
            String queued,
            String early,
            String dsn,
            String next,
            String recorded,
            int failed,
            String until) {
        Instant arrival = age.equals("new") ? NOW : NOW.minus(Duration.ofDays(5));
        List<DomainResult.Outcome> results = new ArrayList<>();
        List<RecipientStatus> recipients = new ArrayList<>();
        String[] spec = outcomes.split(" ");
        for (int i = 0; i < spec.length; i++) {
            String[] parts = spec[i].split("/");
            Set<RecipientStatus.Notify> notify = EnumSet.noneOf(RecipientStatus.Notify.class);
            if (parts.length > 1 && !parts[1].equals("dsn-mx")) {
                for (String n : parts[1].split("\\+")) {
                    notify.add(RecipientStatus.Notify.valueOf(n));
                }
            }
            RecipientStatus rs =
                    RecipientStatus.pending(
                            "r" + (i + 1) + "@d" + (i + 1) + ".test", notify, "", arrival);
            recipients.add(rs);
            RecipientStatus.State state = RecipientStatus.State.valueOf(parts[0]);
            results.add(
                    new DomainResult.Outcome(
                            rs,
                            state,
                            reply(state),
                            state == RecipientStatus.State.PENDING ? "" : "mx.d.test",
                            spec[i].endsWith("/dsn-mx"),
                            Trace.local("-", NOW, NOW, NOW)));
        }
        Envelope env =
                Envelope.accepted(
                        "1j1vtestqueue1",
                        arrival,
                        sender.equals("<>") ? "" : sender,
                        recipients,
                        Envelope.BodyType.UNSPECIFIED,
                        false,
                        Envelope.Ret.UNSPECIFIED,
                        "",
                        Envelope.Source.local());

        Settlement s = Settlement.of(env, results, NOW, RETRY, "y".equals(stopped));
        Settlement.Next n =
                s.next("y".equals(queued), early.equals("-") ? Set.of() : Set.of(early + ".test"));

        assertEquals(
                dsn,
                s.dsn().isEmpty()
                        ? "-"
                        : s.dsn().stream()
                                .map(
                                        e ->
                                                e.recipient().address().split("@")[0]
                                                        + ":"
                                                        + e.action().label())
                                .collect(Collectors.joining(" ")));
        assertEquals(next, kind(n));
        assertEquals(recorded, recorded(n));
        assertEquals(failed, n.failed());
        assertEquals(
                until,
                n instanceof Settlement.Next.Defer d
                        ? "+" + Duration.between(NOW, d.until()).toMinutes() + "m"
                        : "-");
    }

    private static String reply(RecipientStatus.State state) {
        return switch (state) {
            case DELIVERED -> "250 2.0.0 Ok";
            case PENDING -> "451 4.7.5 the policy is enforced";
            case FAILED -> "550 5.1.1 no such user";
        };
    }

    private static String kind(Settlement.Next n) {
        return n instanceof Settlement.Next.Complete
                ? "complete"
                : n instanceof Settlement.Next.Defer ? "defer" : "give-back";
    }

    private static String recorded(Settlement.Next n) {
        List<RecipientResult> r =
                n instanceof Settlement.Next.Defer d
                        ? d.record()
                        : n instanceof Settlement.Next.GiveBack g ? g.record() : List.of();
        return r.isEmpty()
                ? "-"
                : r.stream()
                        .map(x -> x.address().split("@")[0] + "=" + x.outcome().name())
                        .collect(Collectors.joining(" "));
    }
}
