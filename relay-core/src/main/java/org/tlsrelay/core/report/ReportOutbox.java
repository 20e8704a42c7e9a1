package org.tlsrelay.core.report;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.io.PrivateFiles;

/**
 * The durable delivery state of reports: {@code DIR/outbox/YYYY-MM-DD/DOMAIN.json} ({@link OutboxEntry}) and, for a
 * domain that asked for reports, the report itself beside it as {@code DOMAIN.json.gz}, so that every retry sends the
 * same bytes with the same report id. Files are written to a temporary name, fsynced and renamed; the report before
 * its entry. The relay's report job and {@code tlsrelay report send} may run at once: {@link #locked} serialises them
 * with a lock file ({@code outbox/lock}) and, within one process, a lock object.
 */
public final class ReportOutbox {
    private static final Logger LOG = LoggerFactory.getLogger(ReportOutbox.class);
    private static final Map<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path dir;

    /** @param reportsDir {@code config.spool().stateDir().resolve("reports")} */
    public ReportOutbox(Path reportsDir) {
        this.dir = reportsDir.resolve("outbox").toAbsolutePath().normalize();
    }

    public Path directory() {
        return dir;
    }

    /** Work that must not interleave with another process's or thread's outbox work. */
    public interface Work<T> {
        T run() throws IOException;
    }

    /** Runs {@code work} holding the outbox lock (blocking until it is free). */
    public <T> T locked(Work<T> work) throws IOException {
        ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
        jvm.lock();
        try {
            PrivateFiles.createDirectories(dir);
            try (FileChannel ch =
                    PrivateFiles.open(
                            dir.resolve("lock"),
                            StandardOpenOption.CREATE,
                            StandardOpenOption.WRITE)) {
                FileLock lock = ch.lock();
                try {
                    return work.run();
                } finally {
                    lock.release();
                }
            }
        } finally {
            jvm.unlock();
        }
    }

    /** The entry of {@code domain} on {@code day}, if one was made. */
    public Optional<OutboxEntry> load(LocalDate day, String domain) throws IOException {
        try {
            return Optional.of(
                    OutcomeLog.MAPPER.readValue(
                            Files.readAllBytes(entryFile(day, domain)), OutboxEntry.class));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            throw new IOException(
                    entryFile(day, domain) + ": unreadable outbox entry: " + e.getMessage(), e);
        }
    }

    /** Every entry of {@code day}, by domain; unreadable ones are logged and left out. */
    public List<OutboxEntry> entries(LocalDate day) throws IOException {
        Path d = dayDir(day);
        List<OutboxEntry> out = new ArrayList<>();
        if (!Files.isDirectory(d)) {
            return out;
        }
        List<String> domains = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, "*.json")) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                domains.add(name.substring(0, name.length() - ".json".length()));
            }
        }
        domains.sort(Comparator.naturalOrder());
        for (String domain : domains) {
            try {
                load(day, domain).ifPresent(out::add);
            } catch (IOException e) {
                LOG.warn("{}", e.getMessage());
            }
        }
        return out;
    }

    /** The days that have an outbox directory, oldest first. */
    public List<LocalDate> days() throws IOException {
        TreeSet<LocalDate> days = new TreeSet<>();
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (Files.isDirectory(p)) {
                    try {
                        days.add(LocalDate.parse(p.getFileName().toString()));
                    } catch (DateTimeParseException e) {
                        // not one of ours
                    }
                }
            }
        }
        return List.copyOf(days);
    }

    /** The stored report of an entry that has one. */
    public byte[] report(LocalDate day, String domain) throws IOException {
        return Files.readAllBytes(reportFile(day, domain));
    }

    /** Stores a new entry together with its report (written and synced first). */
    public void create(OutboxEntry entry, byte[] gzip) throws IOException {
        LocalDate day = LocalDate.parse(entry.day());
        PrivateFiles.createDirectories(dayDir(day));
        if (entry.reporting()) {
            PrivateFiles.replace(reportFile(day, entry.policyDomain()), gzip);
        }
        update(entry);
    }

    /** Replaces an entry's state. */
    public void update(OutboxEntry entry) throws IOException {
        LocalDate day = LocalDate.parse(entry.day());
        PrivateFiles.createDirectories(dayDir(day));
        PrivateFiles.replace(
                entryFile(day, entry.policyDomain()),
                OutcomeLog.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(entry));
    }

    /** Deletes the outbox days before {@code keepFrom}; returns how many. */
    public int deleteBefore(LocalDate keepFrom) throws IOException {
        int n = 0;
        for (LocalDate d : days()) {
            if (d.isBefore(keepFrom)) {
                try (Stream<Path> files = Files.list(dayDir(d))) {
                    for (Path p : files.toList()) {
                        Files.deleteIfExists(p);
                    }
                }
                Files.deleteIfExists(dayDir(d));
                n++;
            }
        }
        return n;
    }

    private Path dayDir(LocalDate day) {
        return dir.resolve(day.toString());
    }

    private Path entryFile(LocalDate day, String domain) {
        return dayDir(day).resolve(safe(domain) + ".json");
    }

    private Path reportFile(LocalDate day, String domain) {
        return dayDir(day).resolve(safe(domain) + ".json.gz");
    }

    /** Domains come from the outcome log: only valid DNS names become file names. */
    private static String safe(String domain) {
        return DnsNames.requireValid(domain);
    }
}
