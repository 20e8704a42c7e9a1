package org.tlsrelay.core.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A size in bytes, written {@code 50MB}, {@code 512KB}, {@code 1GB} or a plain byte count (units are powers of 1024). */
public record ByteSize(long bytes) {
    private static final Pattern FORM =
            Pattern.compile("(\\d+)\\s*(B|KB|KIB|K|MB|MIB|M|GB|GIB|G)?");

    public ByteSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("a size cannot be negative");
        }
    }

    public static ByteSize parse(String text) {
        Matcher m = FORM.matcher(text.trim().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is not a size (e.g. 50MB, 512KB, 1048576)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2);
        long factor =
                switch (unit.charAt(0)) {
                    case 'K' -> 1L << 10;
                    case 'M' -> 1L << 20;
                    case 'G' -> 1L << 30;
                    default -> 1L;
                };
        return new ByteSize(Math.multiplyExact(n, factor));
    }

    @Override
    public String toString() {
        if (bytes != 0 && bytes % (1L << 30) == 0) {
            return bytes / (1L << 30) + "GB";
        }
        if (bytes != 0 && bytes % (1L << 20) == 0) {
            return bytes / (1L << 20) + "MB";
        }
        if (bytes != 0 && bytes % (1L << 10) == 0) {
            return bytes / (1L << 10) + "KB";
        }
        return Long.toString(bytes);
    }
}
