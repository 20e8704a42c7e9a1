package org.tlsrelay.core.dkim;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Which header fields a signature covers ({@code h=}) and the header hash input made from them (RFC 6376 §5.4,
 * §3.7).
 *
 * <p>The fields that carry what a reader sees and what MIME needs: From, To, Cc, Subject, Date, Message-ID,
 * MIME-Version, Content-Type, Content-Transfer-Encoding, Reply-To, In-Reply-To, References and every List-* field,
 * each as often as it occurs. From is named once more than it occurs ("over-signed", §8.15): the extra name stands
 * for a From field that is not there, so one added later breaks the signature.
 */
final class SignedHeaders {
    static final List<String> NAMES =
            List.of(
                    "from",
                    "to",
                    "cc",
                    "subject",
                    "date",
                    "message-id",
                    "mime-version",
                    "content-type",
                    "content-transfer-encoding",
                    "reply-to",
                    "in-reply-to",
                    "references");

    private SignedHeaders() {}

    /** The {@code h=} list for a message with these fields, lower case. */
    static List<String> choose(List<HeaderField> fields) {
        Map<String, Integer> counts = new HashMap<>();
        Set<String> lists = new LinkedHashSet<>();
        for (HeaderField f : fields) {
            String name = f.name().toLowerCase(Locale.ROOT);
            counts.merge(name, 1, Integer::sum);
            if (name.startsWith("list-")) {
                lists.add(name);
            }
        }
        List<String> h = new ArrayList<>();
        for (String name : NAMES) {
            int n = counts.getOrDefault(name, 0) + (name.equals("from") ? 1 : 0);
            for (int i = 0; i < n; i++) {
                h.add(name);
            }
        }
        for (String name : lists) {
            for (int i = 0; i < counts.get(name); i++) {
                h.add(name);
            }
        }
        return h;
    }

    /**
     * The header hash input (§3.7): for each name of {@code h}, the next instance of that field from the bottom up
     * (§5.4.2), relaxed-canonicalized; a name with no instance left adds nothing. Then the signature field itself,
     * with an empty {@code b=}, canonicalized, without its final CRLF.
     */
    static byte[] hashInput(List<HeaderField> fields, List<String> h, String signatureField) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        Map<String, Integer> below = new HashMap<>();
        for (String name : h) {
            int i = below.getOrDefault(name, fields.size());
            while (--i >= 0 && !fields.get(i).is(name)) {
                // search upwards
            }
            below.put(name, Math.max(i, 0));
            if (i >= 0) {
                out.writeBytes(fields.get(i).relaxed());
            }
        }
        byte[] sig = parse(signatureField).relaxed();
        out.write(sig, 0, sig.length - 2);
        return out.toByteArray();
    }

    private static HeaderField parse(String field) {
        byte[] raw = field.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        return ((HeaderSection.Parsed.Fields) HeaderSection.parse(raw, raw.length))
                .section()
                .fields()
                .get(0);
    }
}
