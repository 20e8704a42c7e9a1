package org.tlsrelay.core.policy.list;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ListStoreTest {
    @TempDir Path tmp;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void nothingInstalledReadsEmpty() throws Exception {
        assertTrue(new ListStore(tmp.resolve("lists/none")).read().isEmpty());
    }

    @Test
    void installWritesBothFilesAndReplacesThePreviousPair() throws Exception {
        ListStore store = new ListStore(tmp.resolve("lists/partners"));
        store.install(b("v1"), b("sig1"));
        store.install(b("v2"), b("sig2"));

        assertEquals("v2", Files.readString(tmp.resolve("lists/partners/policy.json")));
        assertEquals("sig2", Files.readString(tmp.resolve("lists/partners/policy.json.asc")));
        ListStore.Copy copy = store.read().orElseThrow();
        assertArrayEquals(b("v2"), copy.policy());
        assertArrayEquals(b("sig2"), copy.signature());
        assertEquals(List.of(".lock", "policy.json", "policy.json.asc"), names(store.dir()));
    }

    @Test
    void installInterruptedBeforeAnyRenameIsDiscarded() throws Exception {
        ListStore store = new ListStore(tmp.resolve("l"));
        store.install(b("good"), b("good-sig"));
        Files.writeString(store.dir().resolve("policy.json.new"), "half");
        Files.writeString(store.dir().resolve("policy.json.asc.new"), "half-sig");

        ListStore.Copy copy = store.read().orElseThrow();
        assertArrayEquals(b("good"), copy.policy());
        assertArrayEquals(b("good-sig"), copy.signature());
        assertFalse(Files.exists(store.dir().resolve("policy.json.new")));
        assertFalse(Files.exists(store.dir().resolve("policy.json.asc.new")));
    }

    @Test
    void installInterruptedBetweenTheTwoRenamesIsFinished() throws Exception {
        ListStore store = new ListStore(tmp.resolve("l"));
        store.install(b("old"), b("old-sig"));
        // the crash came after policy.json.new was renamed, before policy.json.asc.new was
        Files.writeString(store.policyFile(), "new");
        Files.writeString(store.dir().resolve("policy.json.asc.new"), "new-sig");

        ListStore.Copy copy = store.read().orElseThrow();
        assertArrayEquals(b("new"), copy.policy());
        assertArrayEquals(b("new-sig"), copy.signature());
        assertFalse(Files.exists(store.dir().resolve("policy.json.asc.new")));
    }

    @Test
    void aListWithoutItsSignatureIsAnError() throws Exception {
        ListStore store = new ListStore(tmp.resolve("l"));
        store.install(b("v"), b("s"));
        Files.delete(store.signatureFile());
        Exception e =
                org.junit.jupiter.api.Assertions.assertThrows(
                        java.io.IOException.class, store::read);
        assertTrue(e.getMessage().contains("policy.json.asc: missing"), e.getMessage());
    }
}
