package org.tlsrelay.core.config;

import java.util.ArrayList;
import java.util.List;

/** The checks of {@code cluster}: the node id's form, and what is allowed but likely wrong. */
final class ClusterChecks {

    private ClusterChecks() {}

    static void nodeId(String nodeId) {
        if (nodeId.isEmpty() || !nodeId.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new InvalidValue(
                    "node-id",
                    "\""
                            + nodeId
                            + "\" is not a node name: use 1-64 letters, digits, '.', '_' or '-', e.g. relay-0");
        }
    }

    /** See {@link RelayConfig.Cluster#warnings()}. */
    static List<String> warnings(RedisUrl redis, String nodeId) {
        if (redis == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (nodeId.equals("localhost") || nodeId.startsWith("localhost.")) {
            out.add(
                    "cluster.node-id \""
                            + nodeId
                            + "\" is not unique among the relays: set it (or the host name) to a name of"
                            + " this relay, e.g. relay-0");
        }
        boolean loopback =
                redis.host().equals("localhost")
                        || redis.host().startsWith("127.")
                        || redis.host().equals("::1");
        if (!redis.tls() && redis.secret().isPresent() && !loopback) {
            out.add(
                    "cluster.redis: the password goes to "
                            + redis.host()
                            + " in clear text: use rediss:// (TLS) or a Redis on a private network");
        }
        return out;
    }
}
