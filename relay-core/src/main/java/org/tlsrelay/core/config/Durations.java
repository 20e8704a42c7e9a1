package org.tlsrelay.core.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as operators write them: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 12h}, {@code 5d}, or {@code 1h30m}. */
public final class Durations {
    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d|w)");

    private Durations() {}

    public static Duration parse(String text) {
        String t = text.trim();
        Matcher m = PART.matcher(t);
        Duration total = Duration.ZERO;
        int end = 0;
        while (m.lookingAt()) {
            long n = Long.parseLong(m.group(1));
            total =
                    total.plus(
                            switch (m.group(2)) {
                                case "ms" -> Duration.ofMillis(n);
                                case "s" -> Duration.ofSeconds(n);
                                case "m" -> Duration.ofMinutes(n);
                                case "h" -> Duration.ofHours(n);
                                case "d" -> Duration.ofDays(n);
                                default -> Duration.ofDays(7 * n);
                            });
            end = m.end();
            m.region(end, t.length());
        }
        if (end == 0 || end != t.length()) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is not a duration (e.g. 30s, 5m, 12h, 5d)");
        }
        return total;
    }

    /** The shortest form that {@link #parse} reads back, e.g. {@code 1h30m}. */
    public static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        StringBuilder sb = new StringBuilder();
        long days = d.toDays();
        if (days > 0) {
            sb.append(days).append('d');
        }
        if (d.toHoursPart() > 0) {
            sb.append(d.toHoursPart()).append('h');
        }
        if (d.toMinutesPart() > 0) {
            sb.append(d.toMinutesPart()).append('m');
        }
        if (d.toSecondsPart() > 0) {
            sb.append(d.toSecondsPart()).append('s');
        }
        if (d.toMillisPart() > 0) {
            sb.append(d.toMillisPart()).append("ms");
        }
        return sb.toString();
    }
}
