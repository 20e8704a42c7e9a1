package org.tlsrelay.core.log;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.MDC;
import org.slf4j.event.Level;

/**
 * One log line about one message, in Postfix's {@code key=value} shape, for the text and the JSON log alike:
 *
 * <pre>{@code
 * LogLine.of(id).add("client", "mta.example.org[192.0.2.1]").path("from", sender).add("size", 10240).info(LOG);
 * // text: 1j1v7tv5ks0lsh: client=mta.example.org[192.0.2.1], from=<a@example.org>, size=10240
 * // JSON: "mdc": {"queueId": "1j1v7tv5ks0lsh", "client": "mta.example.org[192.0.2.1]", "from": "a@example.org", ...}
 * }</pre>
 *
 * The queue id leads the text (so {@code grep QUEUEID} finds every line of a message) and is the MDC key
 * {@code queueId}, as everywhere in the relay. Fields keep their order; values are made printable (control characters
 * become {@code ?}) and cut at {@value #MAX_VALUE} characters, since most come from the network.
 */
public final class LogLine {
    static final int MAX_VALUE = 256;

    private record Field(String key, String value, boolean angled) {}

    private final String queueId;
    private final List<Field> fields = new ArrayList<>();
    private String note = "";

    private LogLine(String queueId) {
        this.queueId = printable(queueId);
    }

    /** A line about the message {@code queueId}. */
    public static LogLine of(String queueId) {
        return new LogLine(queueId);
    }

    /** {@code key=value}. */
    public LogLine add(String key, Object value) {
        fields.add(new Field(key, printable(String.valueOf(value)), false));
        return this;
    }

    /** {@code key=value}, only when {@code value} is not empty. */
    public LogLine addIfPresent(String key, String value) {
        return value.isEmpty() ? this : add(key, value);
    }

    /** {@code key=<address>} (an empty address is the null path {@code <>}); the MDC value has no brackets. */
    public LogLine path(String key, String address) {
        fields.add(new Field(key, printable(address), true));
        return this;
    }

    /** A text in parentheses after the fields, e.g. the reply of an MX; the MDC key {@code note}. */
    public LogLine note(String text) {
        note = printable(text);
        return this;
    }

    /** The message text: {@code QUEUEID: key=value, key=<address> (note)}. */
    public String text() {
        StringBuilder b = new StringBuilder(128).append(queueId).append(':');
        String sep = " ";
        for (Field f : fields) {
            b.append(sep).append(f.key()).append('=');
            if (f.angled()) {
                b.append('<').append(f.value()).append('>');
            } else {
                b.append(f.value());
            }
            sep = ", ";
        }
        if (!note.isEmpty()) {
            b.append(" (").append(note).append(')');
        }
        return b.toString();
    }

    /** The fields by key, as the MDC carries them while the line is logged. */
    public Map<String, String> keys() {
        Map<String, String> m = new HashMap<>();
        m.put("queueId", queueId);
        for (Field f : fields) {
            m.put(f.key(), f.value());
        }
        if (!note.isEmpty()) {
            m.put("note", note);
        }
        return m;
    }

    public void info(Logger log) {
        log(log, Level.INFO);
    }

    public void warn(Logger log) {
        log(log, Level.WARN);
    }

    /** Logs {@link #text()} with the fields in the MDC; what the MDC held before is restored afterwards. */
    public void log(Logger log, Level level) {
        if (!log.isEnabledForLevel(level)) {
            return;
        }
        Map<String, String> keys = keys();
        Map<String, String> before = new HashMap<>();
        for (String k : keys.keySet()) {
            before.put(k, MDC.get(k));
        }
        try {
            keys.forEach(MDC::put);
            log.atLevel(level).log(text());
        } finally {
            before.forEach(
                    (k, v) -> {
                        if (v == null) {
                            MDC.remove(k);
                        } else {
                            MDC.put(k, v);
                        }
                    });
        }
    }

    /** Printable and bounded: control characters (CR, LF, NUL, ESC...) become {@code ?}. */
    public static String printable(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_VALUE + 3));
        for (int i = 0; i < s.length(); i++) {
            if (b.length() >= MAX_VALUE) {
                b.append("...");
                break;
            }
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) ? '?' : c);
        }
        return b.toString();
    }
}
