package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.smtp.testmx.TestMx;

/**
 * {@code tlsrelay run} in a child process, its own {@code logback.xml}, in both log formats: every recipient gets one
 * line per attempt in Postfix's shape (sent, deferred, bounced, expired; through an MX or {@code relay=none}), a bounce
 * names the DSN's queue id, a DSN that cannot be sent (null sender) is a WARN, and the message's last line says it was
 * removed. The JSON format carries the same fields as keys.
 */
class DeliveryLogEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LISTENING =
            Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ");

    /** Postfix's per-recipient line, field by field. */
    private static final Pattern LINE =
            Pattern.compile(
                    "^(?<id>[0-9a-v]{14}): to=<(?<to>[^>]+)>(?:, orcpt=(?<orcpt>\\S+))?,"
                            + " relay=(?<relay>\\S+), delay=(?<delay>[0-9.]+),"
                            + " delays=(?<delays>[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+),"
                            + " tls=(?<tls>\\S+), policy=(?<policy>\\S+), dsn=(?<dsn>[245]\\.\\d+\\.\\d+),"
                            + " status=(?<status>sent|deferred|bounced|expired) \\((?<reply>.*)\\)$");

    private static final List<String> FIELDS =
            List.of(
                    "to", "orcpt", "relay", "delay", "delays", "tls", "policy", "dsn", "status",
                    "reply");

    @TempDir Path dir;

    /** One log event: its level, its message, and the fields its message (text) or its keys (JSON) carry. */
    record Event(String level, String message, Map<String, String> fields) {}

    @ParameterizedTest(name = "--log-format {0}")
    @ValueSource(strings = {"text", "json"})
    void everyRecipientGetsALinePerAttemptAndGrepByQueueIdTellsTheStory(String format)
            throws Exception {
        List<Event> log;
        String sentId;
        String id;
        String nullSenderId;
        String goodMx;
        try (DeliveryFixture f = new DeliveryFixture(dir)) {
            TestMx sender =
                    f.mx(
                            "mx.sender.test",
                            TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.sender.test")));
            TestMx good =
                    f.mx(
                            "mx.good.test",
                            TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.good.test")));
            f.mx(
                    "mx.bad.test",
                    TestMx.builder().recipientReply("dave@bad.test", "550 5.1.1 no such user"));
            f.mx(
                    "mx.later.test",
                    TestMx.builder().recipientReply("carol@later.test", "451 4.2.1 mailbox busy"));
            f.dns.mx("sender.test", 10, "mx.sender.test")
                    .mx("good.test", 10, "mx.good.test")
                    .mx("bad.test", 10, "mx.bad.test")
                    .mx("later.test", 10, "mx.later.test");
            goodMx = "mx.good.test[" + good.address().getHostAddress() + "]:" + good.port();
            Path config =
                    f.writeConfig(
                            "  retry: { schedule: [500ms], max-age: 2s }\n",
                            "  overrides:\n    good.test: { mode: enforce, mxs: [mx.good.test] }\n");
            try (RelayProcess relay =
                    RelayProcess.start(
                            "run", "--config", config.toString(), "--log-format", format)) {
                int smtp = relay.awaitNumber(LISTENING);
                try (RawSmtpClient c =
                        new RawSmtpClient(new InetSocketAddress("127.0.0.1", smtp))) {
                    RawSmtpClient.expect(c.reply(), 220);
                    RawSmtpClient.expect(c.command("EHLO client.test"), 250);
                    sentId =
                            send(
                                    c,
                                    "MAIL FROM:<alice@sender.test>",
                                    "RCPT TO:<bob@good.test> ORCPT=rfc822;bobby@alias.test");
                    // the relay's first TLS handshake is done: the next message's first attempt
                    // ends well before its max-age
                    relay.await(removed(sentId), "the first message removed");
                    id =
                            send(
                                    c,
                                    "MAIL FROM:<alice@sender.test>",
                                    "RCPT TO:<carol@later.test>",
                                    "RCPT TO:<dave@bad.test>",
                                    "RCPT TO:<frank@nowhere.test>");
                    nullSenderId = send(c, "MAIL FROM:<>", "RCPT TO:<dave@bad.test>");
                }
                relay.await(removed(id), "removed after max-age");
                relay.await(removed(nullSenderId), "the bounce removed");
                TestMx.await(
                        () -> sender.messages().size() == 2,
                        java.time.Duration.ofSeconds(20),
                        "two DSNs: the bounces, then the expiry");
                relay.sigterm();
                assertTrue(relay.process.waitFor(60, TimeUnit.SECONDS));
                log = relay.drain().stream().map(l -> event(format, l)).toList();
            }
        }

        Map<String, String> bob = only(filterId(log, sentId), "bob@good.test", "sent");
        assertEquals("<bobby@alias.test>", bob.get("orcpt"));
        assertEquals(goodMx, bob.get("relay"));
        assertTrue(bob.get("tls").matches("TLSv1\\.[23]/TLS_\\w+"), bob.toString());
        assertEquals("override/enforce", bob.get("policy"));
        assertEquals("2.0.0", bob.get("dsn"));
        assertTrue(bob.get("reply").startsWith("250 "), bob.toString());
        assertDelays(bob);
        assertEquals(sentId + ": removed", last(filterId(log, sentId)));

        List<Event> story = filterId(log, id);
        List<Event> lines = story.stream().filter(e -> e.fields().containsKey("status")).toList();

        Map<String, String> dave = only(lines, "dave@bad.test", "bounced");
        assertEquals("5.1.1", dave.get("dsn"));
        assertEquals("550 5.1.1 no such user", dave.get("reply"));
        assertEquals("tls=none", "tls=" + dave.get("tls"), "the MX offered no STARTTLS");
        assertEquals("none", dave.get("policy"));
        assertFalse(dave.containsKey("orcpt"));

        Map<String, String> frank = only(lines, "frank@nowhere.test", "bounced");
        assertEquals("none", frank.get("relay"), "no MX was reached");
        assertEquals("5.1.2", frank.get("dsn"));
        assertTrue(frank.get("reply").contains("does not exist (NXDOMAIN)"), frank.toString());

        List<Map<String, String>> carol =
                lines.stream()
                        .map(Event::fields)
                        .filter(m -> m.get("to").equals("carol@later.test"))
                        .toList();
        assertTrue(carol.size() >= 2, "one line per attempt: " + carol);
        assertEquals("deferred", carol.get(0).get("status"));
        assertEquals("4.2.1", carol.get(0).get("dsn"));
        assertEquals("451 4.2.1 mailbox busy", carol.get(0).get("reply"));
        assertTrue(
                carol.get(0).get("relay").startsWith("mx.later.test[127.0.0."),
                carol.get(0).toString());
        Map<String, String> expired = carol.get(carol.size() - 1);
        assertEquals("expired", expired.get("status"));
        assertEquals("4.2.1", expired.get("dsn"));
        carol.subList(0, carol.size() - 1)
                .forEach(m -> assertEquals("deferred", m.get("status"), m.toString()));

        // the story in order: bounce DSN after the bounced lines, then the deferral, ..., removed
        // last
        List<String> messages = story.stream().map(Event::message).toList();
        int dsn = indexOf(messages, id + ": sender non-delivery notification: ");
        assertTrue(dsn > indexOf(messages, id + ": to=<dave@bad.test>"), messages.toString());
        assertTrue(messages.get(dsn).endsWith("(2 recipient(s))"), messages.get(dsn));
        assertTrue(
                indexOf(messages, id + ": to=<carol@later.test>") < dsn,
                "the first attempt's lines come first: " + messages);
        String dsnId = messages.get(dsn).replaceAll(".*notification: (\\S+) .*", "$1");
        assertTrue(indexOf(messages, id + ": deferred until ") > dsn, messages.toString());
        assertEquals(id + ": removed", messages.get(messages.size() - 1), messages.toString());
        // the DSN has a story of its own: to alice, sent, from the null sender
        assertTrue(
                log.stream()
                        .anyMatch(
                                e ->
                                        e.message().startsWith(dsnId + ": to=<alice@sender.test>")
                                                && "sent".equals(e.fields().get("status"))),
                "the DSN " + dsnId + " delivered");

        // a bounce of a bounce is never sent: a WARN says so
        assertEquals(
                "bounced",
                only(filterId(log, nullSenderId), "dave@bad.test", "bounced").get("status"));
        Event warn =
                filterId(log, nullSenderId).stream()
                        .filter(e -> e.message().contains("no non-delivery notification"))
                        .findFirst()
                        .orElseThrow();
        assertEquals("WARN", warn.level());
        assertTrue(warn.message().contains("the sender is <>"), warn.message());
    }

    private static Predicate<String> removed(String id) {
        return l -> RelayProcess.message(l).endsWith(id + ": removed");
    }

    private static String last(List<Event> events) {
        return events.get(events.size() - 1).message();
    }

    private static List<Event> filterId(List<Event> log, String id) {
        return log.stream().filter(e -> e.message().startsWith(id + ": ")).toList();
    }

    private static int indexOf(List<String> messages, String prefix) {
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i).startsWith(prefix)) {
                return i;
            }
        }
        throw new AssertionError("no line " + prefix + " in " + messages);
    }

    /** The one line of {@code to}, which must have {@code status}. */
    private static Map<String, String> only(List<Event> lines, String to, String status) {
        List<Map<String, String>> found =
                lines.stream().map(Event::fields).filter(m -> to.equals(m.get("to"))).toList();
        assertEquals(1, found.size(), to + ": " + found);
        assertEquals(status, found.get(0).get("status"), found.toString());
        return found.get(0);
    }

    /** delay= is the sum of delays=a/b/c/d, give or take the rounding of each. */
    private static void assertDelays(Map<String, String> m) {
        double total = Double.parseDouble(m.get("delay"));
        double sum = 0;
        for (String part : m.get("delays").split("/")) {
            sum += Double.parseDouble(part);
        }
        assertTrue(Math.abs(total - sum) <= 0.1 + total * 0.1, m.toString());
    }

    /** Parses a line of either format into its message and fields; the two must agree for JSON. */
    private static Event event(String format, String line) {
        if (format.equals("json")) {
            JsonNode j;
            try {
                j = JSON.readTree(line);
            } catch (IOException e) {
                throw new AssertionError("not one JSON object per line: " + line, e);
            }
            String message = j.path("formattedMessage").asText();
            Map<String, String> fields = new LinkedHashMap<>();
            JsonNode mdc = j.path("mdc");
            for (String k : FIELDS) {
                if (mdc.has(k)) {
                    fields.put(k, mdc.get(k).asText());
                }
            }
            if (fields.containsKey("status")) {
                // the keys say what the message says
                assertEquals(parse(message), fields, line);
                assertEquals(
                        message.substring(0, 14), mdc.path("queueId").asText(), "queueId: " + line);
            }
            return new Event(j.path("level").asText(), message, fields);
        }
        assertFalse(line.startsWith("{"), line);
        // 2026-12-06T10:00:00.000Z INFO  DeliveryLog QUEUEID DOMAIN MX QUEUEID: to=<...>, ...
        Matcher m = Pattern.compile("^\\S+ (\\w+)\\s+\\S+ (.*)$").matcher(line);
        if (!m.find()) {
            return new Event("", line, Map.of());
        }
        // the message starts at the queue id it names, after the MDC's fixed places
        Matcher id = Pattern.compile("[0-9a-v]{14}: ").matcher(m.group(2));
        String message = id.find() ? m.group(2).substring(id.start()) : m.group(2).strip();
        return new Event(m.group(1), message, parse(message));
    }

    private static Map<String, String> parse(String message) {
        Matcher m = LINE.matcher(message);
        Map<String, String> fields = new LinkedHashMap<>();
        if (!m.find()) {
            return fields;
        }
        for (String k : FIELDS) {
            String v = m.group(k);
            if (v != null) {
                fields.put(k, v);
            }
        }
        return fields;
    }

    private static String send(RawSmtpClient c, String mail, String... rcpts) throws IOException {
        RawSmtpClient.expect(c.command(mail), 250);
        for (String r : rcpts) {
            RawSmtpClient.expect(c.command(r), 250);
        }
        RawSmtpClient.expect(c.command("DATA"), 354);
        c.send(DeliveryFixture.message("log " + rcpts.length));
        return DeliveryFixture.queueId(c.command("."));
    }
}
