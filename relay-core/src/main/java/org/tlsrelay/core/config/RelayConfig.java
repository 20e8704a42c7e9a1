package org.tlsrelay.core.config;

import static org.tlsrelay.core.config.ConfigChecks.listOf;
import static org.tlsrelay.core.config.ConfigChecks.localHostName;
import static org.tlsrelay.core.config.ConfigChecks.notNegative;
import static org.tlsrelay.core.config.ConfigChecks.portNumber;
import static org.tlsrelay.core.config.ConfigChecks.positive;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.tlsrelay.core.dane.InsecureMxPolicy;
import org.tlsrelay.core.dkim.SigningKey;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.list.ListSettings;
import org.tlsrelay.core.policy.list.ListSource;
import org.tlsrelay.core.policy.resolve.PolicyResolver;
import org.tlsrelay.core.queue.RetrySchedule;
import org.tlsrelay.core.queue.SpaceReserve;

/**
 * The whole configuration, as read from one YAML file (see {@code config/tlsrelay.yaml}).
 * Every section and key has a default, so an empty file, or no file at all, is a working relay.
 * Key names are kebab-case in YAML ({@code max-message-size}) and camelCase here.
 */
public record RelayConfig(
        Server server,
        Spool spool,
        Delivery delivery,
        Dns dns,
        Dane dane,
        Policy policy,
        Reports reports,
        Admin admin,
        Dkim dkim,
        Cluster cluster) {

    public RelayConfig {
        server = server != null ? server : Server.defaults();
        spool = spool != null ? spool : new Spool(null);
        delivery = delivery != null ? delivery : Delivery.defaults();
        dns = dns != null ? dns : new Dns(null, null, null, null);
        dane = dane != null ? dane : new Dane(null);
        policy = policy != null ? policy : new Policy(null, null, null);
        reports = reports != null ? reports : new Reports(null, null, null, null);
        admin = admin != null ? admin : new Admin(null);
        dkim = dkim != null ? dkim : new Dkim(null, null);
        cluster = cluster != null ? cluster : new Cluster(null, null);
    }

    /** The configuration a relay runs with when no file is given. */
    public static RelayConfig defaults() {
        return new RelayConfig(null, null, null, null, null, null, null, null, null, null);
    }

    /**
     * What the policy lists need: {@code policy.lists}, their directory beside the spool ({@code STATE/lists/}) and
     * the outbound trust and connect timeout of {@code delivery} to fetch them with.
     */
    @JsonIgnore
    public ListSettings listSettings() {
        return new ListSettings(
                policy.lists(),
                spool.listsDir(),
                delivery.trust().system(),
                delivery.trust().extraCa(),
                delivery.connectTimeout());
    }

    /**
     * Why the name the relay gives in EHLO to MXs ({@code delivery.helo-name}, else {@code server.hostname}) will
     * trouble them, if it will: it must be the relay's fully qualified domain name (RFC 5321 §4.1.1.1, §2.3.5), and
     * many MXs refuse or distrust a bare one.
     */
    @JsonIgnore
    public Optional<String> ehloNameWarning() {
        String key = delivery.heloName != null ? "delivery.helo-name" : "server.hostname";
        String name = delivery.heloNameOverride().orElse(server.hostname());
        String bare = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        if (DnsNames.isValid(bare) && bare.indexOf('.') > 0) {
            return Optional.empty();
        }
        return Optional.of(
                key
                        + " \""
                        + name
                        + "\" is not a fully qualified domain name: it is the relay's EHLO name (RFC 5321"
                        + " §4.1.1.1) and MXs may refuse or distrust it; set "
                        + key
                        + " to the name the relay's address resolves to, e.g. relay.example.org");
    }

    // ---- server: the inbound side that MTAs talk to ----

    /**
     * @param shutdownGrace on SIGTERM, how long in-flight work (a message being queued, deliveries under way) may
     *     take to finish before the relay stops anyway; what is left is retried at the next start
     */
    public record Server(
            HostPort listen,
            String hostname,
            List<Network> networks,
            Auth auth,
            Tls tls,
            Limits limits,
            Duration shutdownGrace) {
        public Server {
            listen = listen != null ? listen : new HostPort("127.0.0.1", 2525);
            hostname = hostname != null ? hostname : localHostName();
            networks =
                    networks != null
                            ? listOf(networks)
                            : List.of(Network.parse("127.0.0.0/8"), Network.parse("::1/128"));
            auth = auth != null ? auth : new Auth(null);
            tls = tls != null ? tls : new Tls(null, null);
            limits = limits != null ? limits : Limits.defaults();
            shutdownGrace = shutdownGrace != null ? shutdownGrace : Duration.ofSeconds(30);
            notNegative("shutdown-grace", shutdownGrace);
        }

        /** Without {@code shutdown-grace} (its default applies). */
        public Server(
                HostPort listen,
                String hostname,
                List<Network> networks,
                Auth auth,
                Tls tls,
                Limits limits) {
            this(listen, hostname, networks, auth, tls, limits, null);
        }

        static Server defaults() {
            return new Server(null, null, null, null, null, null, null);
        }
    }

    /** SMTP AUTH users; passwords are stored only as bcrypt or PBKDF2 hashes. */
    public record Auth(List<User> users) {
        public Auth {
            users = users != null ? listOf(users) : List.of();
        }
    }

    public record User(String name, String passwordHash) {}

    /** PEM files for inbound STARTTLS; both null means STARTTLS is not offered. */
    public record Tls(Path certificate, Path privateKey) {
        @JsonIgnore
        public boolean enabled() {
            return certificate != null && privateKey != null;
        }
    }

    /**
     * Inbound limits. What one client may hold and how fast it must talk, as Postfix's smtpd does
     * ({@code smtpd_client_connection_count_limit}, {@code smtpd_per_record_deadline}, {@code smtpd_min_data_rate},
     * {@code smtpd_hard_error_limit}).
     *
     * @param maxConnectionsPerClient sessions one client address may hold at once, {@code server.networks} included
     * @param exemptNetworks clients not counted against {@code maxConnectionsPerClient} (e.g. a front MTA)
     * @param commandTimeout the time for a whole command line, from the previous reply to its CRLF
     * @param minDataRate bytes per second a DATA phase must keep up after {@code minDataRateGrace}; 0: no minimum
     * @param maxErrors 5xx replies after which a session is closed with {@code 421 4.7.0}
     * @param listenBacklog connections the kernel queues before they are accepted; 0: as many as it allows
     *     ({@code net.core.somaxconn})
     */
    public record Limits(
            ByteSize maxMessageSize,
            Integer maxRecipients,
            Integer maxConnections,
            Duration commandTimeout,
            Duration dataTimeout,
            Integer maxLineLength,
            Integer maxConnectionsPerClient,
            List<Network> exemptNetworks,
            Integer minDataRate,
            Duration minDataRateGrace,
            Integer maxErrors,
            Integer listenBacklog) {
        public Limits {
            maxMessageSize = maxMessageSize != null ? maxMessageSize : ByteSize.parse("50MB");
            maxRecipients = positive("max-recipients", maxRecipients, 100);
            maxConnections = positive("max-connections", maxConnections, 500);
            commandTimeout = commandTimeout != null ? commandTimeout : Duration.ofMinutes(5);
            dataTimeout = dataTimeout != null ? dataTimeout : Duration.ofMinutes(10);
            // RFC 5321 §4.5.3.1.6: 1000 octets including CRLF; Postfix accepts longer, so do we.
            maxLineLength = positive("max-line-length", maxLineLength, 4096);
            maxConnectionsPerClient =
                    positive("max-connections-per-client", maxConnectionsPerClient, 50);
            exemptNetworks = exemptNetworks != null ? listOf(exemptNetworks) : List.of();
            minDataRate = notNegative("min-data-rate", minDataRate, 500);
            minDataRateGrace = minDataRateGrace != null ? minDataRateGrace : Duration.ofSeconds(30);
            maxErrors = positive("max-errors", maxErrors, 20);
            listenBacklog = notNegative("listen-backlog", listenBacklog, 0);
            ConfigChecks.longerThanZero("command-timeout", commandTimeout);
            ConfigChecks.longerThanZero("data-timeout", dataTimeout);
            notNegative("min-data-rate-grace", minDataRateGrace);
        }

        /** The limits of before issue 11 §4; the newer ones take their defaults. */
        public Limits(
                ByteSize maxMessageSize,
                Integer maxRecipients,
                Integer maxConnections,
                Duration commandTimeout,
                Duration dataTimeout,
                Integer maxLineLength) {
            this(
                    maxMessageSize,
                    maxRecipients,
                    maxConnections,
                    commandTimeout,
                    dataTimeout,
                    maxLineLength,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null);
        }

        public static Limits defaults() {
            return new Limits(null, null, null, null, null, null);
        }
    }

    // ---- spool ----

    /**
     * @param minFree the free space kept on the spool's file system: below it, new mail gets {@code 452 4.3.1} at
     *     MAIL FROM and {@code /health} says {@code degraded}
     */
    public record Spool(Path dir, SpaceReserve minFree) {
        public Spool {
            dir = dir != null ? dir : Path.of("data", "spool");
            minFree = minFree != null ? minFree : SpaceReserve.DEFAULT;
        }

        public Spool(Path dir) {
            this(dir, null);
        }

        /**
         * The directory beside the spool that holds the relay's other state: {@code lists/NAME/},
         * {@code mta-sts/}, {@code reports/}. With the default spool {@code ./data/spool} it is {@code ./data}.
         */
        @JsonIgnore
        public Path stateDir() {
            Path abs = dir.toAbsolutePath().normalize();
            return abs.getParent() != null ? abs.getParent() : abs;
        }

        /** {@code STATE/lists/}: the installed policy lists, one directory per list. */
        @JsonIgnore
        public Path listsDir() {
            return stateDir().resolve("lists");
        }

        /** {@code STATE/mta-sts/}: the MTA-STS policy cache, kept across restarts. */
        @JsonIgnore
        public Path mtaStsDir() {
            return stateDir().resolve("mta-sts");
        }

        /** {@code STATE/reports/}: the TLS-RPT outcome log and the report outbox. */
        @JsonIgnore
        public Path reportsDir() {
            return stateDir().resolve("reports");
        }

        /**
         * The directories the relay owns: the spool and, beside it, the lists, the MTA-STS cache and the reports;
         * not the state directory itself, which the operator (or the container image) provides.
         */
        @JsonIgnore
        public List<Path> ownDirectories() {
            return List.of(dir.toAbsolutePath().normalize(), listsDir(), mtaStsDir(), reportsDir());
        }
    }

    // ---- delivery: the outbound side ----

    public record Delivery(
            Integer port,
            String heloName,
            Duration connectTimeout,
            Duration commandTimeout,
            Trust trust,
            Concurrency concurrency,
            Retry retry) {
        public Delivery {
            port = portNumber(port, "port", 25);
            connectTimeout = connectTimeout != null ? connectTimeout : Duration.ofSeconds(30);
            commandTimeout = commandTimeout != null ? commandTimeout : Duration.ofMinutes(5);
            trust = trust != null ? trust : new Trust(null, null);
            concurrency = concurrency != null ? concurrency : new Concurrency(null, null, null);
            retry = retry != null ? retry : new Retry(null, null);
        }

        static Delivery defaults() {
            return new Delivery(null, null, null, null, null, null, null);
        }

        /** The EHLO name towards MXs; defaults to {@code server.hostname}. */
        public Optional<String> heloNameOverride() {
            return Optional.ofNullable(heloName);
        }
    }

    /** Which certificate authorities outbound TLS (and MTA-STS HTTPS) trusts. */
    public record Trust(Boolean system, List<Path> extraCa) {
        public Trust {
            system = system != null ? system : Boolean.TRUE;
            extraCa = extraCa != null ? listOf(extraCa) : List.of();
        }
    }

    /**
     * @param total outbound connections open at once, idle ones kept for reuse included
     * @param perDomain attempts running at once for one recipient domain
     * @param perHost connections open at once to one MX host (counted on its address, across domains)
     */
    public record Concurrency(Integer total, Integer perDomain, Integer perHost) {
        public Concurrency {
            total = positive("total", total, 100);
            perDomain = positive("per-domain", perDomain, 10);
            perHost = positive("per-host", perHost, 20);
        }
    }

    public record Retry(List<Duration> schedule, Duration maxAge) {
        public Retry {
            schedule =
                    schedule != null && !schedule.isEmpty()
                            ? listOf(schedule)
                            : List.of(
                                    Duration.ofMinutes(5),
                                    Duration.ofMinutes(15),
                                    Duration.ofHours(1),
                                    Duration.ofHours(4));
            maxAge = maxAge != null ? maxAge : Duration.ofDays(5);
        }

        /** The spool's retry schedule: {@code schedule} and {@code max-age}. */
        @JsonIgnore
        public RetrySchedule retrySchedule() {
            return new RetrySchedule(schedule, maxAge);
        }
    }

    // ---- dns ----

    /**
     * Resolvers to ask ({@code host} or {@code host:port}); empty means the system's. {@code dnssec} says whether the
     * look-ups DANE relies on (MX, the MX hosts' addresses, TLSA) are validated; {@code trustAnchors} are zone files of
     * DS or DNSKEY records that replace the built-in IANA root trust anchor (empty: the root anchor).
     */
    public record Dns(
            List<HostPort> servers, Duration timeout, DnssecMode dnssec, List<Path> trustAnchors) {
        public Dns {
            servers = servers != null ? listOf(servers) : List.of();
            timeout = timeout != null ? timeout : Duration.ofSeconds(5);
            dnssec = dnssec != null ? dnssec : DnssecMode.VALIDATE;
            trustAnchors = trustAnchors != null ? listOf(trustAnchors) : List.of();
        }

        /** Servers and timeout; DNSSEC validation on, with the built-in root trust anchor. */
        public Dns(List<HostPort> servers, Duration timeout) {
            this(servers, timeout, null, null);
        }
    }

    /** {@code dns.dnssec}: validate the look-ups DANE needs, or turn DNSSEC (and so DANE) off. */
    public enum DnssecMode {
        /** Validate MX, the MX hosts' A/AAAA and TLSA answers against the trust anchors (RFC 4035 §5). */
        VALIDATE,
        /** No validation: every answer counts as insecure and DANE never applies. */
        OFF;

        @com.fasterxml.jackson.annotation.JsonValue
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** From YAML, where an unquoted {@code off} (YAML 1.1) arrives as {@code false} and {@code on} as true. */
        @com.fasterxml.jackson.annotation.JsonCreator
        static DnssecMode fromYaml(Object value) {
            if (value instanceof Boolean b) {
                return b ? VALIDATE : OFF;
            }
            for (DnssecMode m : values()) {
                if (m.label().equals(value)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("\"" + value + "\" is not one of validate, off");
        }
    }

    // ---- dane ----

    /**
     * DANE (RFC 7672) settings. {@code insecureMx}: what an MX host named by an insecure MX RRset gets; the RFC's
     * {@code opportunistic} by default, Postfix's {@code dane} on request.
     */
    public record Dane(InsecureMxPolicy insecureMx) {
        public Dane {
            insecureMx = insecureMx != null ? insecureMx : InsecureMxPolicy.OPPORTUNISTIC;
        }
    }

    // ---- policy sources ----

    public record Policy(
            MtaSts mtaSts, List<ListSource> lists, Map<String, LocalOverride> overrides) {
        public Policy {
            mtaSts = mtaSts != null ? mtaSts : new MtaSts(null, null);
            lists = lists != null ? listOf(lists) : List.of();
            Map<String, LocalOverride> normalised = new LinkedHashMap<>();
            if (overrides != null) {
                // an override that could not be read was reported and stands as null
                overrides.forEach(
                        (domain, o) -> {
                            if (o != null) {
                                normalised.put(domain.toLowerCase(Locale.ROOT), o);
                            }
                        });
            }
            overrides = Map.copyOf(normalised);
        }

        /** The resolver's settings: {@code mta-sts.enabled} and the {@code overrides} as policies. */
        @JsonIgnore
        public PolicyResolver.Settings resolverSettings() {
            Map<String, PolicyResolver.LocalOverride> byDomain = new LinkedHashMap<>();
            overrides.forEach(
                    (domain, o) ->
                            byDomain.put(
                                    domain,
                                    new PolicyResolver.LocalOverride(o.asPolicy(), o.force())));
            return new PolicyResolver.Settings(mtaSts.enabled(), byDomain);
        }
    }

    public record MtaSts(Boolean enabled, Integer httpsPort) {
        public MtaSts {
            enabled = enabled != null ? enabled : Boolean.TRUE;
            httpsPort = portNumber(httpsPort, "https-port", 443);
        }
    }

    /** A local policy for one domain; {@code force} makes it win over MTA-STS and lists. */
    public record LocalOverride(PolicyMode mode, List<String> mxs, Boolean force) {
        public LocalOverride {
            mxs = mxs != null ? listOf(mxs) : List.of();
            force = force != null ? force : Boolean.FALSE;
            OverrideChecks.check(mode, mxs);
        }

        @JsonIgnore
        public org.tlsrelay.core.policy.Policy asPolicy() {
            return new org.tlsrelay.core.policy.Policy(
                    mode, mxs.stream().map(MxPattern::ofOverride).toList());
        }
    }

    // ---- reports and admin ----

    public record Reports(Boolean enabled, String organization, String contact, String submitter) {
        public Reports {
            enabled = enabled != null ? enabled : Boolean.TRUE;
            organization = organization != null ? organization : localHostName();
            submitter = submitter != null ? submitter : localHostName();
        }

        public Optional<String> contactInfo() {
            return Optional.ofNullable(contact);
        }
    }

    public record Admin(HostPort listen) {
        public Admin {
            listen = listen != null ? listen : new HostPort("127.0.0.1", 8025);
        }
    }

    // ---- cluster: several relays as one (issue 18) ----

    /**
     * Several relays sharing state through Redis: TLS-RPT counts, the MTA-STS policy cache, the per-domain and per-host
     * concurrency limits and membership. Without {@code redis} the relay stands alone.
     *
     * @param redis where the shared state lives; absent: standalone
     * @param nodeId this relay's name in the cluster (default: the host name), unique among the relays
     */
    public record Cluster(RedisUrl redis, String nodeId) {
        public Cluster {
            nodeId = nodeId != null ? nodeId.trim() : localHostName();
            ClusterChecks.nodeId(nodeId);
        }

        /** Whether the relay is part of a cluster ({@code cluster.redis} is set). */
        @JsonIgnore
        public boolean enabled() {
            return redis != null;
        }

        public Optional<RedisUrl> redisUrl() {
            return Optional.ofNullable(redis);
        }

        /**
         * What is allowed but likely wrong in a cluster: a node id every relay may share (each relay's counts and slots
         * are kept under its id, so two relays with one id count as one), and a password sent in clear text over the
         * network.
         */
        @JsonIgnore
        public List<String> warnings() {
            return ClusterChecks.warnings(redis, nodeId);
        }
    }

    // ---- dkim: signing what the relay sends ----

    /** DKIM keys (RFC 6376, RFC 8463) and what is signed with them. */
    public record Dkim(List<DkimKey> keys, DkimSigning sign) {
        public Dkim {
            keys = keys != null ? listOf(keys) : List.of();
            sign = sign != null ? sign : new DkimSigning(null, null);
            DkimKeyChecks.unique(keys);
        }
    }

    /**
     * One signing key: {@code d=} domain, {@code s=} selector and the PEM private key (RSA of 2048 bits or more, or
     * Ed25519). The key file is read here, so that a missing, unreadable, short or foreign key is a configuration
     * error with the file's line.
     */
    public record DkimKey(String domain, String selector, Path privateKey) {
        public DkimKey {
            DkimKeyChecks.check(domain, selector, privateKey);
        }

        /** The key, read from its file again (it was checked when the configuration was loaded). */
        public SigningKey load() {
            return DkimKeyChecks.read(domain, selector, privateKey);
        }
    }

    /**
     * @param reports sign the relay's own mail: TLS-RPT reports with the key of {@code reports.submitter}'s domain,
     *     DSNs with that of {@code server.hostname}'s (or of their closest parent domain that has a key)
     * @param relayed which accepted mail is signed
     */
    public record DkimSigning(Boolean reports, RelayedSigning relayed) {
        public DkimSigning {
            reports = reports != null ? reports : Boolean.TRUE;
            relayed = relayed != null ? relayed : RelayedSigning.NONE;
        }
    }

    /** {@code dkim.sign.relayed}. */
    public enum RelayedSigning {
        /** Relayed mail is not signed. */
        NONE,
        /** Relayed mail is signed with the keys of its From: domain, or of the closest parent domain listed. */
        FROM_DOMAIN;

        @com.fasterxml.jackson.annotation.JsonValue
        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        @Override
        public String toString() {
            return label();
        }
    }
}
