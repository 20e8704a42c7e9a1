package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.RedisUrl;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.smtp.cluster.Membership;
import org.tlsrelay.smtp.cluster.RedisLink;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.RedisServer;
import redis.clients.jedis.Jedis;

/** {@code tlsrelay cluster status}: its exit status and JSON, against a real redis-server. */
class ClusterCommandTest {
    @TempDir Path dir;

    private Path config(String redisUrl) throws Exception {
        return Files.writeString(
                dir.resolve("tlsrelay.yaml"),
                "spool: { dir: "
                        + dir.resolve("spool")
                        + " }\n"
                        + (redisUrl == null
                                ? ""
                                : "cluster: { redis: \"" + redisUrl + "\", node-id: relay-0 }\n"));
    }

    @Test
    void withoutClusterRedisItIsAUsageError() throws Exception {
        CliRun r = CliRun.run("cluster", "status", "--config", config(null).toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("cluster.redis is not set"), r.err());
    }

    @Test
    void anUnreachableRedisExitsOneAndSaysWhere() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed: nothing listens there
        }
        String url = "redis://127.0.0.1:" + port + "/0";
        CliRun r = CliRun.run("cluster", "status", "--config", config(url).toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("tlsrelay: cannot reach Redis at " + url), r.err());
        CliRun j = CliRun.run("cluster", "status", "--json", "--config", config(url).toString());
        assertEquals(1, j.exit());
        JsonNode o = new ObjectMapper().readTree(j.out());
        assertEquals(false, o.get("reachable").asBoolean());
        assertEquals(0, o.get("nodes").size());
    }

    @Test
    void listsLiveNodesWithTheirQueueAndALostOneWithExitOne() throws Exception {
        assumeTrue(RedisServer.installed(), "redis-server is not installed (.ci/run installs it)");
        try (RedisServer redis = RedisServer.start(Files.createDirectories(dir.resolve("redis")));
                Spool spool = Spool.open(dir.resolve("spool"), Spool.Options.defaults());
                RedisLink link =
                        new RedisLink(
                                RedisUrl.parse(redis.url()), "relay-0", Duration.ofSeconds(1))) {
            new Membership(
                            link,
                            () -> {
                                try {
                                    return Optional.of(spool.stats());
                                } catch (java.io.IOException e) {
                                    return Optional.empty();
                                }
                            },
                            Clock.systemUTC())
                    .start();
            link.start();
            Path cfg = config(redis.url());
            Await.until(
                    () ->
                            CliRun.run("cluster", "status", "--config", cfg.toString())
                                    .out()
                                    .contains("relay-0"),
                    Duration.ofSeconds(15),
                    "relay-0's heartbeat");

            CliRun r = CliRun.run("cluster", "status", "--json", "--config", cfg.toString());
            assertEquals(0, r.exit(), r.out() + r.err());
            JsonNode node = new ObjectMapper().readTree(r.out()).get("nodes").get(0);
            assertEquals("relay-0", node.get("node").asText());
            assertEquals("live", node.get("state").asText());
            assertEquals(0, node.get("queue").asInt());
            assertTrue(node.get("heartbeat-age-seconds").asDouble() < 10, node.toString());

            try (Jedis j = new Jedis("127.0.0.1", redis.port())) {
                // a relay that died a minute ago: its heartbeat expired, its last one is on the
                // list
                j.hset(
                        "tlsrelay:nodes",
                        "relay-9",
                        Long.toString(Instant.now().minusSeconds(60).toEpochMilli()));
            }
            CliRun lost = CliRun.run("cluster", "status", "--config", cfg.toString());
            assertEquals(1, lost.exit(), lost.out());
            assertTrue(lost.out().contains("relay-9"), lost.out());
            assertTrue(
                    lost.out().lines().anyMatch(l -> l.startsWith("relay-9") && l.contains("lost")),
                    lost.out());
        }
    }
}
