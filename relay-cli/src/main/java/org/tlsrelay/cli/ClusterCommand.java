package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import org.tlsrelay.core.config.RedisUrl;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.smtp.cluster.Cluster;
import org.tlsrelay.smtp.cluster.ClusterStatus;
import org.tlsrelay.smtp.cluster.RedisLink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code tlsrelay cluster ...}: several relays as one, sharing state through Redis ({@code cluster.redis}). */
@Command(
        name = "cluster",
        header = "Several relays as one (cluster.redis): the nodes and their state.",
        description =
                "Commands about the relays that share state through the Redis of cluster.redis.",
        mixinStandardHelpOptions = true,
        subcommands = {ClusterCommand.Status.class})
final class ClusterCommand extends CommandGroup {

    @Command(
            name = "status",
            mixinStandardHelpOptions = true,
            header = "The relays of the cluster: live or lost, their queues and last heartbeat.",
            description = {
                "List the relays (nodes) that share the Redis of cluster.redis: each node's state (live while its "
                        + "heartbeat, renewed every 2s, has not expired after 10s; lost once it has), its last "
                        + "heartbeat, when it started and the messages in its spool. A node that stops cleanly leaves "
                        + "the list; a lost one stays in it for a day."
            },
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:Redis answered and every node listed is live",
                "1:Redis cannot be reached, or a node is lost (stopped beating without leaving)",
                "2:usage or configuration error, or cluster.redis is not set"
            },
            footer = {
                "%nWith --json: {\"redis\", \"reachable\", \"error\" (when not reachable), \"nodes\": [{\"node\", "
                        + "\"state\" (live or lost), \"last-heartbeat\", \"heartbeat-age-seconds\", \"started\", "
                        + "\"queue\", \"queue-by-state\": {\"incoming\", \"active\", \"deferred\", \"hold\", ...}}]}; "
                        + "\"started\" and \"queue\" are null for a lost node.",
                "%nExample:%n  tlsrelay cluster status --config /etc/tlsrelay/tlsrelay.yaml --json"
            })
    static final class Status implements Callable<Integer> {
        @Mixin JsonOption json;

        @Mixin ConfigOption config;

        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            RelayConfig cfg = config.load();
            RedisUrl url =
                    cfg.cluster()
                            .redisUrl()
                            .orElseThrow(
                                    () ->
                                            new UsageException(
                                                    "cluster.redis is not set: this relay stands alone"
                                                            + " (set it to the Redis the relays share, e.g."
                                                            + " redis://127.0.0.1:6379/0)"));
            List<ClusterStatus.Node> nodes;
            try (RedisLink link =
                    ClusterStatus.connect(
                            url, cfg.cluster().nodeId() + "-status", Cluster.TIMEOUT)) {
                nodes = ClusterStatus.read(link);
            } catch (IOException e) {
                if (json.on()) {
                    ObjectNode o = new ObjectMapper().createObjectNode();
                    o.put("redis", url.toString());
                    o.put("reachable", false);
                    o.put("error", e.getMessage());
                    o.putArray("nodes");
                    output.json(o);
                    return 1;
                }
                return output.error(1, e.getMessage());
            }
            Instant now = Instant.now();
            if (json.on()) {
                output.json(toJson(url, nodes, now));
            } else {
                print(output.out(), url, nodes, now);
            }
            return nodes.stream().allMatch(ClusterStatus.Node::live) ? 0 : 1;
        }

        static ObjectNode toJson(RedisUrl url, List<ClusterStatus.Node> nodes, Instant now) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("redis", url.toString());
            o.put("reachable", true);
            ArrayNode list = o.putArray("nodes");
            for (ClusterStatus.Node n : nodes) {
                ObjectNode j = list.addObject();
                j.put("node", n.id());
                j.put("state", n.live() ? "live" : "lost");
                j.put("last-heartbeat", n.lastHeartbeat().toString());
                j.put("heartbeat-age-seconds", age(n, now));
                if (n.started().isPresent()) {
                    j.put("started", n.started().get().toString());
                } else {
                    j.putNull("started");
                }
                if (n.queue().isPresent()) {
                    j.put("queue", n.queue().getAsInt());
                } else {
                    j.putNull("queue");
                }
                ObjectNode by = j.putObject("queue-by-state");
                n.queueByState().forEach(by::put);
            }
            return o;
        }

        private static double age(ClusterStatus.Node n, Instant now) {
            return Math.max(0, Duration.between(n.lastHeartbeat(), now).toMillis()) / 1000.0;
        }

        private static void print(
                PrintWriter out, RedisUrl url, List<ClusterStatus.Node> nodes, Instant now) {
            out.println("redis: " + url + " (reachable), " + nodes.size() + " node(s)");
            if (!nodes.isEmpty()) {
                out.printf(
                        "%-24s %-5s %-22s %8s %8s  %s%n",
                        "NODE", "STATE", "LAST HEARTBEAT", "AGE", "QUEUE", "STARTED");
            }
            for (ClusterStatus.Node n : nodes) {
                out.printf(
                        "%-24s %-5s %-22s %7.1fs %8s  %s%n",
                        n.id(),
                        n.live() ? "live" : "lost",
                        n.lastHeartbeat().truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                        age(n, now),
                        n.queue().isPresent() ? Integer.toString(n.queue().getAsInt()) : "-",
                        n.started()
                                .map(
                                        s ->
                                                s.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                                                        .toString())
                                .orElse("-"));
            }
            out.flush();
        }
    }
}
