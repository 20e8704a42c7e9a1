package org.tlsrelay.core.dns;

import java.util.List;
import java.util.function.Function;

/**
 * The discovery rule that MTA-STS (RFC 8461 §3.1) and TLSRPT (RFC 8460 §3) share: of a name's TXT records, each
 * already joined from its strings, keep those that begin with the version tag; exactly one must remain, otherwise the
 * domain is treated as not publishing one. Also the field syntax they share ({@link #stripWsp}).
 */
public final class VersionedTxt {
    private VersionedTxt() {}

    /** The outcome of the selection. */
    public sealed interface Selection {
        /** {@code one} applied to the selected record, or {@code none} to the reason there is none. */
        <T> T fold(Function<String, T> one, Function<String, T> none);
    }

    /** Exactly one record begins with the tag. */
    public record One(String record) implements Selection {
        @Override
        public <T> T fold(Function<String, T> one, Function<String, T> none) {
            return one.apply(record);
        }
    }

    /** None or several do; {@code reason} says which, for explanations. */
    public record None(String reason) implements Selection {
        @Override
        public <T> T fold(Function<String, T> one, Function<String, T> none) {
            return none.apply(reason);
        }
    }

    /** Selects the one record of {@code records} that begins with {@code prefix} (e.g. {@code v=STSv1;}). */
    public static Selection select(List<String> records, String prefix) {
        List<String> candidates = records.stream().filter(r -> r.startsWith(prefix)).toList();
        if (candidates.isEmpty()) {
            return new None(
                    records.isEmpty()
                            ? "no TXT record"
                            : "no TXT record begins with \"" + prefix + "\"");
        }
        if (candidates.size() > 1) {
            return new None(
                    candidates.size()
                            + " TXT records begin with \""
                            + prefix
                            + "\"; exactly one is allowed");
        }
        return new One(candidates.get(0));
    }

    /**
     * A field of a TXT record without the {@code *WSP} around it: spaces and tabs only (RFC 5234 WSP), as the
     * {@code field-delim} of MTA-STS (RFC 8461 §3.1) and TLSRPT (RFC 8460 §3) allows them; other white space stays and
     * makes the field invalid.
     */
    public static String stripWsp(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && (s.charAt(start) == ' ' || s.charAt(start) == '\t')) {
            start++;
        }
        while (end > start && (s.charAt(end - 1) == ' ' || s.charAt(end - 1) == '\t')) {
            end--;
        }
        return s.substring(start, end);
    }
}
