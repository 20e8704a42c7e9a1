package org.tlsrelay.core.policy.list;

import java.time.Instant;
import java.util.stream.Collectors;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * Renders a list as a Postfix {@code smtp_tls_policy_maps} table (postconf(5), TLS_README "TLS policy table"), for
 * sites that keep Postfix as their outbound MTA:
 * <pre>
 * example.com secure match=mx1.example.com:.example.net
 * </pre>
 * {@code secure} makes Postfix verify the certificate and match its names against {@code match=}; a list's suffix
 * pattern {@code .example.net} is Postfix's own sub-domain syntax (any depth), an exact name stays exact. Entries
 * in {@code testing} mode are written commented out, unless {@code earlyAdopter} (then they are enforced too).
 * An expired list gives a single comment line and no policies (RULES.md: fall back to opportunistic TLS).
 */
public final class PostfixExport {

    private PostfixExport() {}

    /** The table for {@code list} as of {@code now}; {@code source} names the list in the header. */
    public static String render(
            PolicyListDocument list, String source, Instant now, boolean earlyAdopter) {
        if (list.isExpiredAt(now)) {
            return "# tlsrelay: policy list "
                    + source
                    + " expired at "
                    + list.expires()
                    + "; no TLS policies exported (opportunistic TLS)\n";
        }
        StringBuilder out = new StringBuilder();
        out.append("# Postfix smtp_tls_policy_maps table from policy list ")
                .append(source)
                .append('\n');
        out.append("# timestamp ")
                .append(list.timestamp())
                .append(", expires ")
                .append(list.expires())
                .append(": regenerate before then\n");
        out.append("# testing entries are ")
                .append(earlyAdopter ? "enforced (--early-adopter)" : "commented out")
                .append('\n');
        for (ListEntry e : list.entries().values()) {
            String line =
                    e.domain()
                            + " secure match="
                            + e.policy().mxs().stream()
                                    .map(MxPattern::text)
                                    .collect(Collectors.joining(":"));
            if (e.policy().mode() == PolicyMode.TESTING && !earlyAdopter) {
                out.append("# testing: ");
            }
            out.append(line).append('\n');
        }
        return out.toString();
    }
}
