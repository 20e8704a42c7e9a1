package org.tlsrelay.core.policy.mtasts;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.tlsrelay.core.dns.VersionedTxt;

/**
 * MTA-STS discovery through the {@code _mta-sts.DOMAIN} TXT record (RFC 8461 §3.1). The caller joins each record's
 * strings ({@link org.tlsrelay.core.dns.DnsResolver#txt} does); this class decides which record counts and reads its
 * {@code id}.
 *
 * <pre>
 * sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]
 * sts-field       = sts-id / sts-extension
 * sts-version     = %s"v=STSv1"
 * sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
 * sts-sep         = *WSP %x3B *WSP
 * sts-extension   = sts-ext-name "=" sts-ext-value
 * sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 * sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
 * </pre>
 */
public final class StsTxtRecord {
    /** RFC 8461 §3.1: "records that do not begin with 'v=STSv1;' are discarded". */
    static final String PREFIX = "v=STSv1;";

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9]{1,32}");
    private static final Pattern EXT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
    private static final Pattern EXT_VALUE = Pattern.compile("[\\x21-\\x3A\\x3C\\x3E-\\x7E]+");

    private StsTxtRecord() {}

    /** What the TXT records say. */
    public sealed interface Discovery {}

    /** Exactly one valid record: the domain has a policy, with this {@code id}. */
    public record Found(String id, String record) implements Discovery {}

    /** The domain has no available policy (RFC 8461 §3.1); {@code reason} says why, for explanations. */
    public record NoPolicy(String reason) implements Discovery {}

    /** Applies RFC 8461 §3.1 to the TXT records (each already joined) of {@code _mta-sts.DOMAIN}. */
    public static Discovery discover(List<String> records) {
        // RFC 8461 §3.1: "If the number of resulting records is not one ... senders MUST assume the
        // recipient domain does not have an available MTA-STS Policy".
        return VersionedTxt.select(records, PREFIX).fold(StsTxtRecord::ofRecord, NoPolicy::new);
    }

    private static Discovery ofRecord(String record) {
        List<String> problems = new ArrayList<>();
        String id = parseId(record, problems);
        if (id == null) {
            return new NoPolicy(
                    "invalid TXT record \"" + record + "\": " + String.join("; ", problems));
        }
        return new Found(id, record);
    }

    /** The {@code id} of one record, or null with the reasons added to {@code problems}. */
    static String parseId(String record, List<String> problems) {
        if (!record.startsWith(PREFIX)) {
            problems.add("it does not begin with \"" + PREFIX + "\"");
            return null;
        }
        // After "v=STSv1" comes one or more (sts-sep sts-field) and an optional final sts-sep.
        // Fields hold no blank and no ';', so splitting on ';' and trimming the blanks around each
        // part follows the grammar.
        String rest = record.substring(PREFIX.length());
        String[] parts = rest.split(";", -1);
        String id = null;
        int fields = 0;
        for (int i = 0; i < parts.length; i++) {
            String field = VersionedTxt.stripWsp(parts[i]);
            if (field.isEmpty()) {
                if (i == parts.length - 1 && fields > 0) {
                    break; // the optional trailing separator
                }
                problems.add(i == parts.length - 1 ? "no id field" : "empty field");
                return null;
            }
            int eq = field.indexOf('=');
            String name = eq < 0 ? field : field.substring(0, eq);
            String value = eq < 0 ? "" : field.substring(eq + 1);
            if (eq < 0
                    || !EXT_NAME.matcher(name).matches()
                    || !EXT_VALUE.matcher(value).matches()) {
                problems.add("\"" + field + "\" is not a name=value field");
                return null;
            }
            fields++;
            if (name.equals("id")) {
                if (!ID.matcher(value).matches()) {
                    problems.add("id \"" + value + "\" is not 1 to 32 letters and digits");
                    return null;
                }
                if (id != null) {
                    problems.add("more than one id");
                    return null;
                }
                id = value;
            }
            // Any other field is an extension: RFC 8461 §3.1 says unknown fields are ignored.
        }
        if (id == null) {
            problems.add("no id field");
        }
        return id;
    }
}
