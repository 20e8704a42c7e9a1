package org.tlsrelay.core.queue;

import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * How many messages each state holds, and when the oldest message still waiting for delivery arrived. Made from the
 * file names alone (a queue id starts with its arrival time), so that it is cheap enough to read on every metrics
 * scrape, whatever the size of the queue.
 */
public final class QueueStats {
    private final Map<QueueState, Integer> counts;
    private final Instant oldestWaiting;

    QueueStats(Map<QueueState, Integer> counts, Instant oldestWaiting) {
        EnumMap<QueueState, Integer> copy = new EnumMap<>(QueueState.class);
        for (QueueState s : QueueState.values()) {
            copy.put(s, counts.getOrDefault(s, 0));
        }
        this.counts = copy;
        this.oldestWaiting = oldestWaiting;
    }

    /** Messages (envelopes) in {@code state}. */
    public int count(QueueState state) {
        return counts.get(state);
    }

    /** Messages in every state. */
    public int total() {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    /**
     * The arrival time of the oldest message in {@code incoming/}, {@code active/} or {@code deferred/}: the ones the
     * relay still has to deliver. Held and corrupt messages wait for the operator and are left out.
     */
    public Optional<Instant> oldestWaiting() {
        return Optional.ofNullable(oldestWaiting);
    }
}
