package org.tlsrelay.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code cluster.redis} and {@code cluster.node-id}: values, defaults and the errors a person reads. */
class ClusterConfigTest {

    private static RelayConfig parse(String yaml) throws Exception {
        return ConfigLoader.parse(
                new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "tlsrelay.yaml");
    }

    private static List<String> problems(String yaml) {
        return assertThrows(ConfigException.class, () -> parse(yaml)).problems();
    }

    @Test
    void withoutRedisTheRelayStandsAloneUnderItsHostName() throws Exception {
        RelayConfig c = parse("");
        assertFalse(c.cluster().enabled());
        assertFalse(c.cluster().nodeId().isEmpty());
        assertEquals(List.of(), c.cluster().warnings());
    }

    @Test
    void readsTheRedisUrlAndNodeId() throws Exception {
        RelayConfig c =
                parse(
                        "cluster:\n  redis: \"rediss://app:s%40cret@redis.example.org:6380/2\"\n  node-id: relay-0\n");
        RedisUrl r = c.cluster().redisUrl().orElseThrow();
        assertTrue(r.tls());
        assertEquals("redis.example.org", r.host());
        assertEquals(6380, r.port());
        assertEquals(2, r.database());
        assertEquals("app", r.user());
        assertEquals("s@cret", r.password());
        assertEquals("relay-0", c.cluster().nodeId());
        assertEquals(
                "rediss://app:***@redis.example.org:6380/2",
                r.toString(),
                "the password never shows");
    }

    @Test
    void aPasswordAloneAndTheDefaultsOfPortAndDatabase() {
        RedisUrl r = RedisUrl.parse("redis://:pw@10.0.0.5");
        assertEquals("", r.user());
        assertEquals("pw", r.password());
        assertEquals(6379, r.port());
        assertEquals(0, r.database());
        assertEquals(
                RedisUrl.parse("redis://pw@10.0.0.5"),
                r,
                "redis://PASSWORD@host is the short form");
    }

    @Test
    void badValuesAreReportedOnTheirLineInWords() {
        List<String> p =
                problems("cluster:\n  redis: \"http://127.0.0.1:6379\"\n  node-id: \"relay 0\"\n");
        assertEquals(2, p.size(), p.toString());
        assertTrue(p.get(0).startsWith("tlsrelay.yaml:2: cluster.redis: "), p.get(0));
        assertTrue(p.get(0).contains("must start with redis:// or rediss://"), p.get(0));
        assertTrue(
                p.get(1)
                        .startsWith(
                                "tlsrelay.yaml:3: cluster.node-id: \"relay 0\" is not a node name"),
                p.get(1));
        assertTrue(
                problems("cluster:\n  redis: \"redis://127.0.0.1:6379/x\"\n")
                        .get(0)
                        .contains("\"x\" is not a Redis database number"));
    }

    @Test
    void warnsOfAClearTextPasswordToAnotherHostAndOfANodeIdNoOneOwns() throws Exception {
        List<String> w =
                parse(
                                "cluster:\n  redis: \"redis://:pw@redis.example.org/0\"\n  node-id: localhost\n")
                        .cluster()
                        .warnings();
        assertEquals(2, w.size(), w.toString());
        assertTrue(w.get(0).contains("not unique"), w.get(0));
        assertTrue(w.get(1).contains("clear text"), w.get(1));
        assertEquals(
                List.of(),
                parse("cluster:\n  redis: \"redis://:pw@127.0.0.1/0\"\n  node-id: relay-1\n")
                        .cluster()
                        .warnings());
    }
}
