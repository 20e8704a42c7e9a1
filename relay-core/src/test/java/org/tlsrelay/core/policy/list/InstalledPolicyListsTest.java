package org.tlsrelay.core.policy.list;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.testkit.TestCa;

class InstalledPolicyListsTest {
    private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

    /** The EFF list was signed 2020-05-20 and expired 2020-06-03T17:25:12.710055Z. */
    private static final Instant EFF_VALID = Instant.parse("2020-05-25T00:00:00Z");

    private static final Instant EFF_EXPIRED = Instant.parse("2020-06-03T17:25:12.710055Z");

    private static TestKeys publisher;

    @TempDir Path tmp;
    private Path caPem;
    private ListAppender<ILoggingEvent> logs;
    private Logger logger;

    @BeforeAll
    static void keys() {
        publisher = TestKeys.generate("Partners List <lists@publisher.example>", "");
    }

    @BeforeEach
    void captureLogs() throws Exception {
        caPem = TestCa.create("unused").writeCertificatePem(tmp.resolve("ca.pem"));
        logger = (Logger) LoggerFactory.getLogger(InstalledPolicyLists.class);
        logs = new ListAppender<>();
        logs.start();
        logger.addAppender(logs);
    }

    @AfterEach
    void releaseLogs() {
        logger.detachAppender(logs);
    }

    private List<String> warnings() {
        return logs.list.stream()
                .filter(e -> e.getLevel() == Level.WARN)
                .map(ILoggingEvent::getFormattedMessage)
                .toList();
    }

    /** A list published as files (file: URL) under {@code tmp/published/NAME/}. */
    private String fileList(String name, Path key, String refresh) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("published").resolve(name));
        return """
                    - name: %s
                      url: "%s"
                      key: "%s"
                      refresh: %s
                """
                .formatted(name, dir.resolve("policy.json").toUri(), key, refresh);
    }

    private void publish(String name, byte[] policy, byte[] signature) throws Exception {
        Path dir = tmp.resolve("published").resolve(name);
        Files.write(dir.resolve("policy.json"), policy);
        Files.write(dir.resolve("policy.json.asc"), signature);
    }

    private InstalledPolicyLists effLists(Instant clock) throws Exception {
        Path key = TestKeys.copyEff("eff-starttls-policy-pubkey.asc", tmp);
        RelayConfig config = PolicyListUpdaterTest.config(tmp, caPem, fileList("eff", key, "12h"));
        publish("eff", TestKeys.eff("policy.json"), TestKeys.eff("policy.json.asc"));
        PolicyListUpdater updater =
                PolicyListUpdater.from(config.listSettings(), Clock.fixed(clock, ZoneOffset.UTC));
        assertInstanceOf(
                UpdateOutcome.Installed.class, updater.update(config.policy().lists().get(0)));
        InstalledPolicyLists lists =
                new InstalledPolicyLists(config.policy().lists(), updater, o -> {});
        lists.reload();
        return lists;
    }

    @Test
    void realEffListAppliesBeforeItExpires() throws Exception {
        InstalledPolicyLists lists = effLists(EFF_VALID);

        ListedPolicy comcast = lists.find("Comcast.net", EFF_VALID).orElseThrow();
        assertEquals("eff", comcast.listName());
        assertEquals("comcast.net", comcast.domain());
        assertEquals(PolicyMode.ENFORCE, comcast.policy().mode());
        assertEquals(Instant.parse("2020-06-03T17:25:12.710055Z"), comcast.listExpires());
        // alias followed
        assertTrue(
                lists.find("aol.com", EFF_VALID)
                        .orElseThrow()
                        .policy()
                        .allowsMx("mta7.am0.yahoodns.net"));
        assertTrue(warnings().isEmpty(), warnings().toString());
    }

    @Test
    void realEffListIsReportedExpiredAndContributesNothing() throws Exception {
        InstalledPolicyLists lists = effLists(EFF_EXPIRED.plus(Duration.ofDays(1)));

        assertTrue(lists.find("comcast.net", EFF_EXPIRED).isEmpty());
        assertTrue(lists.find("comcast.net", EFF_EXPIRED.plus(Duration.ofDays(2000))).isEmpty());
        assertTrue(lists.find("comcast.net", EFF_EXPIRED.minusNanos(1000)).isPresent());
        assertTrue(lists.current("eff").orElseThrow().document().isExpiredAt(EFF_EXPIRED));
        List<String> warned = warnings();
        assertEquals(1, warned.size(), warned.toString());
        assertTrue(
                warned.get(0)
                        .startsWith(
                                "POLICY LIST EXPIRED: eff expired at 2020-06-03T17:25:12.710055Z"),
                warned.get(0));

        // and again on every refresh
        lists.refresh("eff");
        assertEquals(2, warnings().size());
    }

    @Test
    void firstUnexpiredListThatNamesTheDomainWins() throws Exception {
        Path key = publisher.writePublic(tmp.resolve("key.asc"));
        RelayConfig config =
                PolicyListUpdaterTest.config(
                        tmp, caPem, fileList("first", key, "12h") + fileList("second", key, "12h"));
        byte[] first =
                TestKeys.list(
                        NOW.minus(Duration.ofDays(20)),
                        NOW.minus(Duration.ofDays(6)),
                        "\"example.com\": {\"mode\": \"testing\", \"mxs\": [\"old.example.com\"]}");
        byte[] second =
                TestKeys.list(
                        NOW.minus(Duration.ofHours(1)),
                        NOW.plus(Duration.ofDays(14)),
                        TestKeys.POLICIES);
        publish("first", first, publisher.sign(first, NOW.minus(Duration.ofDays(20))));
        publish("second", second, publisher.sign(second, NOW.minus(Duration.ofHours(1))));
        Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
        InstalledPolicyLists lists =
                new InstalledPolicyLists(
                        config.policy().lists(),
                        PolicyListUpdater.from(config.listSettings(), clock),
                        o -> {});
        lists.refreshAll();

        // at NOW the first list has expired: the second applies
        ListedPolicy now = lists.find("example.com", NOW).orElseThrow();
        assertEquals("second", now.listName());
        assertEquals(PolicyMode.ENFORCE, now.policy().mode());
        // a week ago the first list was still valid and comes first
        ListedPolicy before =
                lists.find("example.com", NOW.minus(Duration.ofDays(7))).orElseThrow();
        assertEquals("first", before.listName());
        // a domain only the second names
        assertEquals("second", lists.find("example.org", NOW).orElseThrow().listName());
        assertTrue(lists.find("unlisted.example", NOW).isEmpty());
    }

    @Test
    void listNotInstalledYetContributesNothingAndIsWarned() throws Exception {
        Path key = publisher.writePublic(tmp.resolve("key.asc"));
        RelayConfig config =
                PolicyListUpdaterTest.config(tmp, caPem, fileList("later", key, "12h"));
        InstalledPolicyLists lists =
                InstalledPolicyLists.load(config.listSettings(), Clock.fixed(NOW, ZoneOffset.UTC));

        assertTrue(lists.find("example.com", NOW).isEmpty());
        assertTrue(
                warnings().get(0).startsWith("policy list later: not installed yet"),
                warnings().toString());
    }

    @Test
    void installedCopyThatNoLongerVerifiesIsNotUsed() throws Exception {
        Path key = publisher.writePublic(tmp.resolve("key.asc"));
        RelayConfig config =
                PolicyListUpdaterTest.config(tmp, caPem, fileList("partners", key, "12h"));
        byte[] policy =
                TestKeys.list(
                        NOW.minus(Duration.ofHours(1)),
                        NOW.plus(Duration.ofDays(14)),
                        TestKeys.POLICIES);
        publish("partners", policy, publisher.sign(policy, NOW.minus(Duration.ofHours(1))));
        Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
        PolicyListUpdater updater = PolicyListUpdater.from(config.listSettings(), clock);
        updater.update(config.policy().lists().get(0));
        Path installed = updater.store("partners").policyFile();
        Files.writeString(installed, Files.readString(installed).replace("testing", "enforce"));

        InstalledPolicyLists lists = InstalledPolicyLists.load(config.listSettings(), clock);

        assertTrue(lists.find("example.com", NOW).isEmpty());
        assertTrue(
                logs.list.stream()
                        .anyMatch(
                                e ->
                                        e.getLevel() == Level.ERROR
                                                && e.getFormattedMessage()
                                                        .contains("NOT used: bad signature")));
    }

    @Test
    void refresherUpdatesPeriodicallyAndStops() throws Exception {
        Path key = publisher.writePublic(tmp.resolve("key.asc"));
        RelayConfig config =
                PolicyListUpdaterTest.config(tmp, caPem, fileList("partners", key, "200ms"));
        byte[] v1 =
                TestKeys.list(
                        NOW.minus(Duration.ofHours(2)),
                        NOW.plus(Duration.ofDays(14)),
                        TestKeys.POLICIES);
        publish("partners", v1, publisher.sign(v1, NOW.minus(Duration.ofHours(2))));
        BlockingQueue<UpdateOutcome> outcomes = new LinkedBlockingQueue<>();
        InstalledPolicyLists lists =
                new InstalledPolicyLists(
                        config.policy().lists(),
                        PolicyListUpdater.from(
                                config.listSettings(), Clock.fixed(NOW, ZoneOffset.UTC)),
                        outcomes::add);
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1);
        executor.setRemoveOnCancelPolicy(true);
        try {
            lists.start(executor);
            assertInstanceOf(UpdateOutcome.Installed.class, outcomes.poll(10, TimeUnit.SECONDS));
            assertEquals(
                    PolicyMode.TESTING,
                    lists.find("example.org", NOW).orElseThrow().policy().mode());

            byte[] v2 =
                    TestKeys.list(
                            NOW.minus(Duration.ofHours(1)),
                            NOW.plus(Duration.ofDays(14)),
                            "\"example.org\": {\"mode\": \"enforce\", \"mxs\": [\"mail.example.org\"]}");
            publish("partners", v2, publisher.sign(v2, NOW.minus(Duration.ofHours(1))));
            UpdateOutcome next;
            do {
                next = outcomes.poll(10, TimeUnit.SECONDS);
                assertNotNull(next, "the refresher ran again within 10 s");
            } while (!(next instanceof UpdateOutcome.Installed));
            assertEquals(
                    PolicyMode.ENFORCE,
                    lists.find("example.org", NOW).orElseThrow().policy().mode());

            lists.stop();
            // the pending run is cancelled (and removed), and a run in progress does not reschedule
            // itself
            assertTrue(executor.getQueue().isEmpty(), executor.getQueue().toString());
        } finally {
            executor.shutdownNow();
            assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void retriesComeSoonerThanRefreshAndJitterOnlyShortens() {
        Duration refresh = Duration.ofHours(12);
        for (int i = 0; i < 100; i++) {
            Duration normal = InstalledPolicyLists.nextDelay(refresh, 0);
            assertTrue(
                    normal.compareTo(refresh) <= 0
                            && normal.compareTo(Duration.ofMinutes(648)) >= 0,
                    normal.toString());
        }
        assertEquals(Duration.ofMinutes(5), InstalledPolicyLists.nextDelay(refresh, 1));
        assertEquals(Duration.ofMinutes(10), InstalledPolicyLists.nextDelay(refresh, 2));
        assertEquals(Duration.ofMinutes(40), InstalledPolicyLists.nextDelay(refresh, 4));
        assertFalse(InstalledPolicyLists.nextDelay(refresh, 30).compareTo(refresh) > 0);
    }
}
