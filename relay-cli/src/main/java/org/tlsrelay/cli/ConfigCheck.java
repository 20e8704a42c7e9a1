package org.tlsrelay.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tlsrelay.core.auth.Credentials;
import org.tlsrelay.core.config.ConfigLoader;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.policy.list.ListKey;
import org.tlsrelay.core.policy.list.ListSignatureException;
import org.tlsrelay.core.policy.list.ListSource;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.dns.RelayResolvers;
import org.tlsrelay.smtp.inbound.InboundServer;

/**
 * What {@code tlsrelay config check} finds beyond the file's syntax, without starting anything (no port is bound, no
 * DNS query sent): the listen addresses are addresses of this machine, this user may create and write the spool,
 * the inbound TLS certificate and key are readable and belong together, the AUTH hashes, CA files, trust anchors and
 * policy-list keys can be used. Each problem in the loader's form, {@code FILE:LINE: key: problem}.
 */
final class ConfigCheck {
    private final RelayConfig config;
    private final String file;
    private final Optional<Path> path;
    private final List<String> problems = new ArrayList<>();

    private ConfigCheck(RelayConfig config, Optional<Path> path) {
        this.config = config;
        this.path = path;
        this.file = path.map(Path::toString).orElse("(built-in defaults)");
    }

    /** Every problem found; empty when {@code run} would start as far as can be told without starting it. */
    static List<String> problems(RelayConfig config, Optional<Path> file) {
        ConfigCheck c = new ConfigCheck(config, file);
        c.run();
        return c.problems.stream().sorted(Comparator.comparingInt(ConfigCheck::line)).toList();
    }

    /** What is allowed but likely wrong: one line each. */
    static List<String> warnings(RelayConfig config) {
        List<String> all = new ArrayList<>(config.ehloNameWarning().stream().toList());
        all.addAll(config.cluster().warnings());
        return all;
    }

    private void run() {
        listen("server.listen", config.server().listen());
        listen("admin.listen", config.admin().listen());
        if (config.server().listen().equals(config.admin().listen())
                && config.server().listen().port() != 0) {
            add("admin.listen", "the same address as server.listen: give each its own port");
        }
        StateAccess.firstUnwritable(config.spool().dir())
                .ifPresent(p -> add("spool.dir", StateAccess.denied(p).getMessage()));
        try {
            Credentials.from(config.server().auth());
        } catch (IllegalArgumentException e) {
            e.getMessage().lines().forEach(this::addFull); // server.auth.users: NAME: problem
        }
        try {
            InboundServer.checkTls(config.server());
        } catch (IOException | IllegalArgumentException e) {
            addFull(e.getMessage()); // server.tls...: problem
        }
        try {
            TrustMaterial.from(
                    config.delivery().trust().system(), config.delivery().trust().extraCa());
        } catch (IOException e) {
            add("delivery.trust.extra-ca", Problems.describe(e));
        }
        try {
            RelayResolvers.create(config.dns());
        } catch (IOException | IllegalArgumentException e) {
            add("dns.trust-anchors", Problems.describe(e));
        }
        for (ListSource l : config.policy().lists()) {
            try {
                ListKey.load(l.key());
            } catch (IOException e) {
                add("policy.lists.key", "list " + l.name() + ": " + Problems.describe(e));
            } catch (ListSignatureException e) {
                add("policy.lists.key", "list " + l.name() + ": " + e.getMessage());
            }
        }
    }

    /** An address to listen on: a literal or a name of this machine, and an address of one of its interfaces. */
    private void listen(String key, HostPort listen) {
        InetAddress a;
        try {
            a = InetAddress.getByName(listen.host());
        } catch (UnknownHostException e) {
            add(key, "\"" + listen.host() + "\" does not resolve: give an address of this machine");
            return;
        }
        if (a.isAnyLocalAddress() || a.isLoopbackAddress()) {
            return;
        }
        try {
            if (NetworkInterface.getByInetAddress(a) == null) {
                add(
                        key,
                        IpAddresses.text(a)
                                + " is not an address of this machine: listen on one of its addresses,"
                                + " 127.0.0.1 or 0.0.0.0");
            }
        } catch (SocketException e) {
            // the interfaces cannot be listed here: run will tell
        }
    }

    private void add(String key, String problem) {
        problems.add(where(key) + ": " + key + ": " + problem);
    }

    /** A message that already starts with its key ({@code server.tls.certificate: ...}). */
    private void addFull(String keyAndProblem) {
        String key = keyAndProblem.substring(0, keyAndProblem.indexOf(':'));
        problems.add(where(key) + ": " + keyAndProblem);
    }

    /** The line of {@code FILE:LINE: ...}; 0 when the problem is about a default. */
    private static int line(String problem) {
        Matcher m = LINE.matcher(problem);
        return m.lookingAt() ? Integer.parseInt(m.group(1)) : 0;
    }

    private static final Pattern LINE = Pattern.compile("[^:]*:(\\d+): ");

    private String where(String key) {
        return path.map(p -> ConfigLoader.locate(p, key)).orElse(file);
    }
}
