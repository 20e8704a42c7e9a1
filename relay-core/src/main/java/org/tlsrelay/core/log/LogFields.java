package org.tlsrelay.core.log;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.MDC;

/**
 * The fields of one structured log line, in the MDC while it is logged (the JSON format writes them as keys), and
 * what the MDC held before put back afterwards: a line logged inside a scope that set {@code queueId} leaves it set.
 * Use with try-with-resources, on one thread.
 */
public final class LogFields implements AutoCloseable {
    private final Map<String, String> before = new HashMap<>();
    private final List<String> added = new ArrayList<>();

    private LogFields() {}

    /** Starts a scope with {@code key, value, key, value, ...}; a value that is empty leaves its key out. */
    public static LogFields of(String... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("keys and values come in pairs");
        }
        LogFields f = new LogFields();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            f.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return f;
    }

    /** Adds one field; an empty value leaves the key out (the JSON line then has no such key). */
    public LogFields put(String key, String value) {
        if (value.isEmpty()) {
            return this;
        }
        if (!before.containsKey(key) && !added.contains(key)) {
            String old = MDC.get(key);
            if (old == null) {
                added.add(key);
            } else {
                before.put(key, old);
            }
        }
        MDC.put(key, value);
        return this;
    }

    @Override
    public void close() {
        for (String key : added) {
            MDC.remove(key);
        }
        before.forEach(MDC::put);
    }
}
