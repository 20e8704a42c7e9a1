package org.tlsrelay.core.dkim;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Signatures a message carries already. A message submitted twice through the relay (or signed by the submitter
 * with the same key) must not get a second signature of the same {@code d=} and {@code s=}: it would add nothing
 * and double the header.
 */
final class ExistingSignatures {
    private static final List<String> REQUIRED = List.of("v", "a", "b", "bh", "d", "h", "s");

    private ExistingSignatures() {}

    /**
     * Whether a {@code DKIM-Signature} field that looks valid (a well-formed tag list with every required tag,
     * RFC 6376 §3.5, and {@code v=1}) names the domain and selector of {@code key}. The signature itself is not
     * verified: that needs DNS, and a broken one would be replaced by nothing better.
     */
    static boolean signedBy(List<HeaderField> fields, SigningKey key) {
        for (HeaderField f : fields) {
            if (!f.is(SignatureHeader.NAME)) {
                continue;
            }
            Optional<Map<String, String>> tags = TagList.parse(f.value());
            if (tags.isEmpty()
                    || !tags.get().keySet().containsAll(REQUIRED)
                    || !"1".equals(tags.get().get("v"))) {
                continue;
            }
            if (tags.get().get("d").equalsIgnoreCase(key.domain())
                    && tags.get().get("s").equalsIgnoreCase(key.selector())) {
                return true;
            }
        }
        return false;
    }
}
