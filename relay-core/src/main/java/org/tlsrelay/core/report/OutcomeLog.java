package org.tlsrelay.core.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.PrivateFiles;
import org.tlsrelay.core.io.Problems;

/**
 * The outcome log on disk: one append-only JSON-lines file per UTC day, {@code DIR/outcomes-YYYY-MM-DD.jsonl}, one
 * {@link OutcomeEvent} per line. Only the relay's {@link OutcomeRecorder} appends; anyone may read, also while it
 * writes: a last line without its newline (a write cut short by a crash) is not read, and a line that does not parse
 * is skipped with a warning, so one bad line never loses a day.
 */
public final class OutcomeLog {
    private static final Logger LOG = LoggerFactory.getLogger(OutcomeLog.class);
    private static final Pattern FILE = Pattern.compile("outcomes-(\\d{4}-\\d{2}-\\d{2})\\.jsonl");
    static final ObjectMapper MAPPER =
            JsonMapper.builder()
                    .disable(
                            DeserializationFeature
                                    .FAIL_ON_UNKNOWN_PROPERTIES) // lines from a newer version still
                    // count
                    .build();

    private final Path dir;

    /** @param dir the reports directory, {@code config.spool().stateDir().resolve("reports")} */
    public OutcomeLog(Path dir) {
        this.dir = dir;
    }

    public Path directory() {
        return dir;
    }

    /** The file of one UTC day. */
    public Path file(LocalDate day) {
        return dir.resolve("outcomes-" + day + ".jsonl");
    }

    /** Every event of {@code day}, in the order written; an absent file is an empty day. */
    public List<OutcomeEvent> read(LocalDate day) throws IOException {
        List<OutcomeEvent> events = new ArrayList<>();
        forEach(day, events::add);
        return events;
    }

    /**
     * Streams the events of {@code day} to {@code sink} in the order written, without holding the file in memory (a
     * busy day has millions of lines). A last line without its newline is not read: it is being written, or a crash
     * cut it short.
     */
    public void forEach(LocalDate day, Consumer<OutcomeEvent> sink) throws IOException {
        Path f = file(day);
        InputStream in;
        try {
            in = Files.newInputStream(f);
        } catch (NoSuchFileException e) {
            return;
        }
        int skipped = 0;
        long lineNo = 0;
        try (InputStream buffered = new BufferedInputStream(in, 64 * 1024)) {
            ByteArrayOutputStream line = new ByteArrayOutputStream(512);
            int b;
            while ((b = buffered.read()) >= 0) {
                if (b != '\n') {
                    line.write(b);
                    continue;
                }
                lineNo++;
                String text = line.toString(StandardCharsets.UTF_8);
                line.reset();
                if (text.isBlank()) {
                    continue;
                }
                try {
                    OutcomeEvent e = MAPPER.readValue(text, OutcomeEvent.class);
                    if (e != null) {
                        sink.accept(e);
                    }
                } catch (JsonProcessingException
                        | IllegalArgumentException
                        | DateTimeParseException e) {
                    if (skipped++ == 0) {
                        LOG.warn(
                                "{}:{}: skipping an unreadable outcome line: {}",
                                f,
                                lineNo,
                                Problems.describe(e));
                    }
                }
            }
        }
        if (skipped > 1) {
            LOG.warn("{}: {} unreadable outcome lines skipped in all", f, skipped);
        }
    }

    /** The days that have an outcome file, oldest first. */
    public List<LocalDate> days() throws IOException {
        TreeSet<LocalDate> days = new TreeSet<>();
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "outcomes-*.jsonl")) {
            for (Path p : ds) {
                Matcher m = FILE.matcher(p.getFileName().toString());
                if (m.matches()) {
                    try {
                        days.add(LocalDate.parse(m.group(1)));
                    } catch (DateTimeParseException e) {
                        // not one of ours
                    }
                }
            }
        }
        return List.copyOf(days);
    }

    /** Deletes the files of days before {@code keepFrom}; returns how many. */
    public int deleteBefore(LocalDate keepFrom) throws IOException {
        int n = 0;
        for (LocalDate d : days()) {
            if (d.isBefore(keepFrom) && Files.deleteIfExists(file(d))) {
                n++;
            }
        }
        return n;
    }

    /**
     * Opens {@code day}'s file for appending (creating the directory and the file). If a crash left a torn last line,
     * a newline is written first so the next event starts a line of its own.
     */
    FileChannel openForAppend(LocalDate day) throws IOException {
        PrivateFiles.createDirectories(dir);
        FileChannel ch =
                PrivateFiles.open(
                        file(day),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE,
                        StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size > 0) {
                ByteBuffer last = ByteBuffer.allocate(1);
                ch.read(last, size - 1);
                if (last.get(0) != '\n') {
                    ch.write(ByteBuffer.wrap(new byte[] {'\n'}), size);
                }
            }
            ch.position(ch.size());
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** One event as a line, with its newline. */
    static byte[] line(OutcomeEvent e) {
        try {
            byte[] json = MAPPER.writeValueAsBytes(e);
            byte[] out = new byte[json.length + 1];
            System.arraycopy(json, 0, out, 0, json.length);
            out[json.length] = '\n';
            return out;
        } catch (JsonProcessingException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
