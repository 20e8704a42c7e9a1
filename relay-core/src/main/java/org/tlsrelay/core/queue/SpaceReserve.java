package org.tlsrelay.core.queue;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code spool.min-free}: the free space kept on the spool's file system, below which new mail is refused with
 * {@code 452 4.3.1} (RFC 3463: "mail system full"). Written as a size ({@code 100MB}, powers of 1024, or a byte
 * count) or as a percentage of the file system's size ({@code 5%}).
 */
public sealed interface SpaceReserve {
    /** Nothing is kept back: mail is refused only when the disk itself is full. */
    SpaceReserve NONE = new Bytes(0);

    /** The relay's default: {@code 100MB}. */
    SpaceReserve DEFAULT = new Bytes(100L << 20);

    /** The reserve on a file system of {@code totalBytes}, in bytes. */
    long bytesOf(long totalBytes);

    /** A fixed number of bytes. */
    record Bytes(long bytes) implements SpaceReserve {
        public Bytes {
            if (bytes < 0) {
                throw new IllegalArgumentException("a reserve cannot be negative");
            }
        }

        @Override
        public long bytesOf(long totalBytes) {
            return bytes;
        }

        @Override
        public String toString() {
            return size(bytes);
        }
    }

    /** A share of the file system's size, 0 to 100. */
    record Percent(double percent) implements SpaceReserve {
        public Percent {
            if (!(percent >= 0 && percent <= 100)) {
                throw new IllegalArgumentException("a percentage must be between 0% and 100%");
            }
        }

        @Override
        public long bytesOf(long totalBytes) {
            return (long) Math.ceil(totalBytes * percent / 100);
        }

        @Override
        public String toString() {
            return (percent == Math.rint(percent) ? Long.toString((long) percent) : percent) + "%";
        }
    }

    /** {@code 100MB}, {@code 512KB}, {@code 1073741824}, {@code 5%}, {@code 2.5%}. */
    static SpaceReserve parse(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        Matcher percent = Pattern.compile("(\\d{1,3}(?:\\.\\d{1,3})?)\\s*%").matcher(t);
        if (percent.matches()) {
            return new Percent(Double.parseDouble(percent.group(1)));
        }
        Matcher m =
                Pattern.compile("(\\d{1,19})\\s*(B|KB|KIB|K|MB|MIB|M|GB|GIB|G|TB|TIB|T)?")
                        .matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is not a size or a percentage (e.g. 100MB, 5%)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2);
        int shift =
                switch (unit.charAt(0)) {
                    case 'K' -> 10;
                    case 'M' -> 20;
                    case 'G' -> 30;
                    case 'T' -> 40;
                    default -> 0;
                };
        if (n > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("\"" + text + "\" is too large");
        }
        return new Bytes(n << shift);
    }

    /** {@code 100MB}, {@code 3.2GB}: for messages people read. */
    static String size(long bytes) {
        String[] units = {"B", "KB", "MB", "GB", "TB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v))
                + units[u];
    }
}
