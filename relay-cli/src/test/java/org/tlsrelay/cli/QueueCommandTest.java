package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.auth.PasswordHash;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;

class QueueCommandTest {
    @TempDir Path dir;

    private Path config;

    @BeforeEach
    void writeConfig() throws IOException {
        config =
                Files.writeString(
                        dir.resolve("tlsrelay.yaml"),
                        "spool:\n  dir: " + dir.resolve("spool") + "\n");
    }

    static String accept(Spool spool, String sender, String rcpt, String content)
            throws IOException {
        try (Spool.Reception r = spool.receive()) {
            r.body().write(content.getBytes(StandardCharsets.UTF_8));
            Instant now = Instant.now();
            return r.commit(
                            Envelope.accepted(
                                    r.id(),
                                    now,
                                    sender,
                                    List.of(
                                            RecipientStatus.pending(
                                                    rcpt,
                                                    Set.of(RecipientStatus.Notify.FAILURE),
                                                    "",
                                                    now)),
                                    Envelope.BodyType.UNSPECIFIED,
                                    false,
                                    Envelope.Ret.UNSPECIFIED,
                                    "",
                                    new Envelope.Source(
                                            "smtp", "127.0.0.1", "client.test", "", "")))
                    .id();
        }
    }

    private CliRun queue(String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "queue";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--config";
        all[args.length + 2] = config.toString();
        return CliRun.run(all);
    }

    @Test
    void listShowHoldReleaseDeleteAndFlushWhileTheRelayHasTheSpoolOpen() throws Exception {
        try (Spool relay = Spool.open(dir.resolve("spool"), Spool.Options.defaults())) {
            String a =
                    accept(
                            relay,
                            "alice@example.org",
                            "bob@example.com",
                            "Subject: one\r\n\r\nbody one\r\n");
            String b = accept(relay, "", "carol@example.net", "Subject: two\r\n\r\n");

            CliRun list = queue("list", "--json");
            assertEquals(0, list.exit(), list.err());
            JsonNode json = new ObjectMapper().readTree(list.out());
            assertEquals(2, json.size());
            JsonNode first = json.get(0);
            assertEquals(a, first.get("id").asText());
            assertEquals("incoming", first.get("state").asText());
            assertEquals("alice@example.org", first.get("sender").asText());
            assertEquals(
                    Files.size(dir.resolve("spool/incoming/" + a + ".eml")),
                    first.get("size").asLong());
            assertEquals(0, first.get("attempts").asInt());
            assertTrue(first.get("arrival").asText().endsWith("Z"));
            assertTrue(first.has("nextAttempt"));
            assertEquals("bob@example.com", first.get("recipients").get(0).get("address").asText());
            assertEquals("pending", first.get("recipients").get(0).get("status").asText());
            assertEquals("", json.get(1).get("sender").asText());

            CliRun table = queue("list");
            assertTrue(
                    table.out().contains(a) && table.out().contains("<alice@example.org>"),
                    table.out());
            assertTrue(table.out().contains("2 message(s)"), table.out());

            CliRun show = queue("show", a);
            assertEquals(0, show.exit());
            assertTrue(show.out().contains("sender:      <alice@example.org>"), show.out());
            assertTrue(show.out().contains("NOTIFY=[FAILURE]"), show.out());
            assertTrue(show.out().endsWith("Subject: one\r\n\r\nbody one\r\n"), show.out());
            assertEquals(
                    "FAILURE",
                    new ObjectMapper()
                            .readTree(queue("show", a, "--json").out())
                            .get("envelope")
                            .get("recipients")
                            .get(0)
                            .get("notify")
                            .get(0)
                            .asText());

            assertEquals(0, queue("hold", a).exit());
            assertTrue(Files.exists(dir.resolve("spool/hold/" + a + ".json")));
            assertTrue(
                    relay.takeDue(10).stream().noneMatch(m -> m.id().equals(a)),
                    "the relay skips held mail");
            assertEquals(
                    "hold",
                    new ObjectMapper()
                            .readTree(queue("list", "--json").out())
                            .get(0)
                            .get("state")
                            .asText());
            CliRun release = queue("release", a);
            assertEquals(0, release.exit());
            assertTrue(release.out().contains("released"));
            assertEquals(0, queue("flush").exit());

            CliRun delete = queue("delete", b);
            assertEquals(0, delete.exit(), delete.err());
            assertEquals(1, queue("delete", b).exit());
            assertEquals(1, queue("show", b).exit());
        }
    }

    @Test
    void listJsonNamesEachDamagedEntryUnderItsOwnIdWithAnError() throws Exception {
        String good;
        String impostor;
        String truncated;
        try (Spool relay = Spool.open(dir.resolve("spool"), Spool.Options.defaults())) {
            good = accept(relay, "alice@example.org", "bob@example.com", "Subject: one\r\n\r\n");
            impostor = accept(relay, "eve@example.org", "bob@example.com", "Subject: two\r\n\r\n");
            truncated = accept(relay, "eve@example.org", "bob@example.com", "Subject: 3\r\n\r\n");
        }
        Path in = dir.resolve("spool/incoming");
        Files.copy(
                in.resolve(good + ".json"),
                in.resolve(impostor + ".json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(in.resolve(truncated + ".json"), "{\"id\":");

        CliRun list = queue("list", "--json");
        assertEquals(0, list.exit(), list.err());
        JsonNode entries = new ObjectMapper().readTree(list.out());
        assertEquals(3, entries.size(), list.out());
        for (JsonNode e : entries) {
            String id = e.get("id").asText();
            if (id.equals(good)) {
                assertTrue(e.path("error").isMissingNode(), e.toString());
                assertEquals("alice@example.org", e.get("sender").asText());
            } else {
                assertTrue(id.equals(impostor) || id.equals(truncated), e.toString());
                assertTrue(e.get("error").isTextual(), e.toString());
            }
        }
        assertTrue(list.out().contains("the envelope names another message, " + good), list.out());
        CliRun show = queue("show", impostor);
        assertEquals(1, show.exit());
        assertTrue(
                show.err().contains(impostor + " is damaged: the envelope names another"),
                show.err());
    }

    @Test
    void unknownIdsExitWith1AndBadConfigurationWith2() throws IOException {
        assertEquals(1, queue("show", "0000000000abcd").exit());
        assertEquals(1, queue("hold", "NOSUCHID").exit());
        assertEquals(1, queue("release", "../../etc/passwd").exit());
        assertEquals(1, queue("delete", "x").exit());
        CliRun empty = queue("list");
        assertEquals(0, empty.exit());
        assertTrue(empty.out().contains("Queue is empty"));
        assertEquals("[ ]", queue("list", "--json").out().trim());
        assertEquals(
                2,
                CliRun.run("queue", "list", "--config", dir.resolve("missing.yaml").toString())
                        .exit());
        assertEquals(2, CliRun.run("queue", "show").exit(), "the id is required");
    }

    @Test
    void runRefusesAMalformedPasswordHashWithExit2() throws IOException {
        Path bad =
                Files.writeString(
                        dir.resolve("bad.yaml"),
                        "server:\n  listen: \"127.0.0.1:0\"\n  auth:\n"
                                + "    users: [{ name: app1, password-hash: \"plaintext\" }]\nspool:\n  dir: "
                                + dir.resolve("s")
                                + "\n");
        CliRun r = CliRun.run("run", "--config", bad.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("server.auth.users: app1: password-hash:"), r.err());
        // A good hash passes the same check (and the relay would start).
        assertTrue(
                PasswordHash.parse(PasswordHash.bcrypt("x".toCharArray(), 4))
                        .matches("x".toCharArray()));
    }
}
