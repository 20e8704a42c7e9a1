package org.tlsrelay.smtp.cluster;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/** What {@code tlsrelay cluster status} lists: every node that beat within a day, live or not. */
public final class ClusterStatus {
    private ClusterStatus() {}

    /**
     * One node.
     *
     * @param live its heartbeat has not expired
     * @param lastHeartbeat when it last beat
     * @param started when it started (unknown once its heartbeat expired)
     * @param queue messages in its spool in all (unknown once its heartbeat expired)
     * @param queueByState by state: incoming, active, deferred, hold, ...
     */
    public record Node(
            String id,
            boolean live,
            Instant lastHeartbeat,
            Optional<Instant> started,
            OptionalInt queue,
            Map<String, Integer> queueByState) {
        public Node {
            queueByState = Map.copyOf(queueByState);
        }
    }

    /** Reads the nodes, sorted by id. */
    public static List<Node> read(RedisLink link) throws IOException {
        return link.await(
                redis -> {
                    List<Node> out = new ArrayList<>();
                    redis.hgetAll(Keys.NODES)
                            .forEach(
                                    (id, at) -> {
                                        Map<String, String> h = redis.hgetAll(Keys.node(id));
                                        boolean live = !h.isEmpty();
                                        Map<String, Integer> byState = new java.util.TreeMap<>();
                                        h.forEach(
                                                (k, v) -> {
                                                    if (k.startsWith("queue.")) {
                                                        byState.put(
                                                                k.substring("queue.".length()),
                                                                (int) Membership.parse(v));
                                                    }
                                                });
                                        Instant last = Instant.ofEpochMilli(Membership.parse(at));
                                        out.add(
                                                new Node(
                                                        id,
                                                        live,
                                                        last,
                                                        Optional.ofNullable(h.get("started"))
                                                                .map(Instant::parse),
                                                        h.containsKey("queue")
                                                                ? OptionalInt.of(
                                                                        (int)
                                                                                Membership.parse(
                                                                                        h.get(
                                                                                                "queue")))
                                                                : OptionalInt.empty(),
                                                        byState));
                                    });
                    out.sort(Comparator.comparing(Node::id));
                    return out;
                });
    }

    /** Connects once for a command: a link that is up, or an {@link IOException} saying why not. */
    public static RedisLink connect(
            org.tlsrelay.core.config.RedisUrl url, String nodeId, java.time.Duration timeout)
            throws IOException {
        RedisLink link = new RedisLink(url, nodeId, timeout);
        try {
            link.connectNow();
        } catch (IOException e) {
            link.close();
            throw e;
        }
        return link;
    }
}
