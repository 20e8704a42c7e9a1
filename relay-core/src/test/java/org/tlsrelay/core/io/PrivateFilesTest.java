package org.tlsrelay.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link PrivateFiles} creates is 0600 or 0700 from the start, and a tree readable by others is closed again. */
class PrivateFilesTest {
    @TempDir Path dir;

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void everythingItCreatesIsPrivateToTheOwner() throws Exception {
        Path nested = PrivateFiles.createDirectories(dir.resolve("a/b/c"));
        assertEquals("rwx------", mode(dir.resolve("a")));
        assertEquals("rwx------", mode(dir.resolve("a/b")));
        assertEquals("rwx------", mode(nested));

        try (FileChannel ch =
                PrivateFiles.open(
                        nested.resolve("lock"),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE)) {
            assertTrue(ch.isOpen());
        }
        PrivateFiles.write(nested.resolve("plain"), new byte[] {1});
        PrivateFiles.writeDurably(nested.resolve("durable"), new byte[] {2});
        PrivateFiles.createFile(nested.resolve("key.pem"), new byte[] {3});
        PrivateFiles.replace(nested.resolve("replaced"), "new".getBytes(StandardCharsets.US_ASCII));
        Path tmp = PrivateFiles.createTempFile(nested, "x", ".tmp");
        for (String f : List.of("lock", "plain", "durable", "key.pem", "replaced")) {
            assertEquals("rw-------", mode(nested.resolve(f)), f);
        }
        assertEquals("rw-------", mode(tmp));
    }

    @Test
    void replaceSwapsTheContentAndLeavesNoTempFile() throws Exception {
        Path f = dir.resolve("cache.json");
        Files.writeString(f, "old");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        PrivateFiles.replace(f, "new".getBytes(StandardCharsets.US_ASCII));
        assertEquals("new", Files.readString(f));
        assertEquals("rw-------", mode(f), "the new file replaces the old one, mode and all");
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(f), s.toList());
        }
    }

    @Test
    void createFileNeverOverwrites() throws Exception {
        Path f = Files.writeString(dir.resolve("key.pem"), "mine");
        assertThrows(
                FileAlreadyExistsException.class, () -> PrivateFiles.createFile(f, new byte[] {1}));
        assertArrayEquals("mine".getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(f));
    }

    @Test
    void makePrivateClosesATreeThatOthersCouldReadAndSaysHowMuch() throws Exception {
        Path spool = Files.createDirectories(dir.resolve("spool/deferred"));
        Path env = Files.writeString(spool.resolve("1abc.json"), "{}");
        Path body = Files.writeString(spool.resolve("1abc.eml"), "mail");
        Files.setPosixFilePermissions(env, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(body, PosixFilePermissions.fromString("rw-rw-rw-"));
        Files.setPosixFilePermissions(spool, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(
                dir.resolve("spool"), PosixFilePermissions.fromString("rwx------"));

        PrivateFiles.Repair r =
                PrivateFiles.makePrivate(List.of(dir.resolve("spool"), dir.resolve("absent")));
        assertEquals(2, r.files());
        assertEquals(1, r.directories());
        assertTrue(r.refused().isEmpty());
        assertEquals("rw-------", mode(env));
        assertEquals("rw-------", mode(body));
        assertEquals("rwx------", mode(spool));
        assertTrue(
                PrivateFiles.makePrivate(List.of(dir.resolve("spool"))).nothing(),
                "once is enough");
    }
}
