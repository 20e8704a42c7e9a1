package org.tlsrelay.core.report;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.Idna;
import org.tlsrelay.core.dns.VersionedTxt;

/**
 * The TLSRPT policy of a domain: the TXT record at {@code _smtp._tls.DOMAIN} (RFC 8460 §3). The caller joins each
 * record's strings without separator ({@link org.tlsrelay.core.dns.DnsResolver#txt} does); this class decides which
 * record counts and reads its {@code rua} URIs.
 *
 * <pre>
 * tlsrpt-record     = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
 * field-delim       = *WSP ";" *WSP
 * tlsrpt-field      = tlsrpt-rua / tlsrpt-extension
 * tlsrpt-version    = %s"v=TLSRPTv1"
 * tlsrpt-rua        = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
 * tlsrpt-extension  = tlsrpt-ext-name "=" tlsrpt-ext-value
 * tlsrpt-ext-name   = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 * tlsrpt-ext-value  = 1*(%x21-3A / %x3C / %x3E-7E)
 * </pre>
 * Only {@code mailto:} and {@code https:} URIs are used; any other URI, or one that does not parse, is ignored
 * (with a note) and the others still count.
 */
public final class TlsRptRecord {
    /** RFC 8460 §3: records that do not begin with this are discarded. */
    static final String PREFIX = "v=TLSRPTv1;";

    private static final Pattern EXT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
    private static final Pattern EXT_VALUE = Pattern.compile("[\\x21-\\x3A\\x3C\\x3E-\\x7E]+");
    private static final Pattern SIZE = Pattern.compile("!(\\d{1,15})([kKmMgGtT]?)$");
    private static final Pattern LOCAL_PART =
            Pattern.compile("[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}");

    private TlsRptRecord() {}

    /** The owner name of a domain's record (RFC 8460 §3). */
    public static String recordName(String domain) {
        return "_smtp._tls." + DnsNames.normalise(domain);
    }

    /** What the TXT records say. */
    public sealed interface Discovery {}

    /**
     * Exactly one valid record with at least one usable URI.
     *
     * @param ignored one line per URI that was left out, and why
     */
    public record Found(String record, List<Rua> rua, List<String> ignored) implements Discovery {
        public Found {
            rua = List.copyOf(rua);
            ignored = List.copyOf(ignored);
        }
    }

    /** The domain does not ask for reports (or its record cannot be used); {@code reason} says why. */
    public record NotFound(String reason) implements Discovery {}

    /** DNS gave no usable answer (SERVFAIL, timeout): nothing is known yet; ask again later. */
    public record LookupFailed(String reason) implements Discovery {}

    /** Applies RFC 8460 §3 to the TXT records (each already joined) of {@code _smtp._tls.DOMAIN}. */
    public static Discovery discover(List<String> records) {
        // RFC 8460 §3: "If the number of resulting records is not one, senders MUST assume the
        // recipient domain does not implement TLSRPT."
        return VersionedTxt.select(records, PREFIX).fold(TlsRptRecord::parse, NotFound::new);
    }

    /** Parses one record that begins with {@code v=TLSRPTv1;}. */
    public static Discovery parse(String record) {
        if (!record.startsWith(PREFIX)) {
            return new NotFound("the record does not begin with \"" + PREFIX + "\"");
        }
        String[] parts = record.substring(PREFIX.length()).split(";", -1);
        List<String> uris = new ArrayList<>();
        int fields = 0;
        boolean sawRua = false;
        for (int i = 0; i < parts.length; i++) {
            String field = VersionedTxt.stripWsp(parts[i]);
            if (field.isEmpty()) {
                if (i == parts.length - 1 && fields > 0) {
                    break; // the optional trailing field-delim
                }
                return new NotFound(
                        "invalid record \""
                                + record
                                + "\": "
                                + (fields == 0 ? "no field" : "empty field"));
            }
            fields++;
            if (field.startsWith("rua=")) {
                sawRua = true;
                for (String u : field.substring(4).split(",", -1)) {
                    uris.add(VersionedTxt.stripWsp(u));
                }
                continue;
            }
            // RFC 8460 §3: unknown fields of a syntactically valid record are ignored
            int eq = field.indexOf('=');
            if (eq < 0
                    || !EXT_NAME.matcher(field.substring(0, eq)).matches()
                    || !EXT_VALUE.matcher(field.substring(eq + 1)).matches()) {
                return new NotFound(
                        "invalid record \""
                                + record
                                + "\": \""
                                + field
                                + "\" is not a name=value field");
            }
        }
        if (!sawRua) {
            return new NotFound("the record has no rua field");
        }
        List<Rua> rua = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (String u : uris) {
            String problem = parseUri(u, rua);
            if (problem != null) {
                ignored.add("\"" + u + "\": " + problem);
            }
        }
        if (rua.isEmpty()) {
            return new NotFound("no usable rua URI (" + String.join("; ", ignored) + ")");
        }
        return new Found(record, rua, ignored);
    }

    /** Adds the URI to {@code out}, or returns why it cannot be used. */
    static String parseUri(String text, List<Rua> out) {
        if (text.isEmpty()) {
            return "empty URI";
        }
        int colon = text.indexOf(':');
        String scheme = colon < 0 ? "" : text.substring(0, colon).toLowerCase(Locale.ROOT);
        return switch (scheme) {
            case "mailto" -> mailto(text, out);
            case "https" -> https(text, out);
            default -> colon < 0 ? "not a URI" : "scheme \"" + scheme + "\" is not mailto or https";
        };
    }

    private static String mailto(String text, List<Rua> out) {
        String rest = text.substring("mailto:".length());
        long limit = 0;
        Matcher m = SIZE.matcher(rest);
        if (m.find()) {
            long n = Long.parseLong(m.group(1));
            int shift =
                    switch (m.group(2).toLowerCase(Locale.ROOT)) {
                        case "k" -> 10;
                        case "m" -> 20;
                        case "g" -> 30;
                        case "t" -> 40;
                        default -> 0;
                    };
            limit = n > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : n << shift;
            if (limit == 0) {
                return "a size limit of 0";
            }
            rest = rest.substring(0, m.start());
        }
        if (rest.indexOf('?') >= 0) {
            rest =
                    rest.substring(
                            0,
                            rest.indexOf('?')); // RFC 6068 headers (e.g. ?subject=) do not apply to
            // reports
        }
        String address;
        try {
            address = URLDecoder.decode(rest.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return "bad percent-encoding";
        }
        if (address.indexOf(',') >= 0) {
            return "more than one address";
        }
        int at = address.lastIndexOf('@');
        if (at <= 0 || at == address.length() - 1) {
            return "\"" + address + "\" is not a mail address";
        }
        String local = address.substring(0, at);
        // RFC 8460 §3 names a mail address; its domain is looked up in A-label form
        if (!(Idna.toAscii(address.substring(at + 1)) instanceof Idna.Conversion.Ascii ascii)) {
            return "\"" + address + "\" has an invalid domain";
        }
        String domain = ascii.name();
        if (!LOCAL_PART.matcher(local).matches()
                || local.startsWith(".")
                || local.endsWith(".")
                || local.contains("..")
                || !DnsNames.isValid(domain)
                || domain.indexOf('.') < 0) {
            return "\"" + address + "\" is not a mail address this relay can send to";
        }
        out.add(new Rua.Mailto(text, local + "@" + DnsNames.normalise(domain), limit));
        return null;
    }

    private static String https(String text, List<Rua> out) {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            return "not a valid URI (" + e.getReason() + ")";
        }
        if (uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawFragment() != null) {
            return "an https URI needs a host and no user information or fragment";
        }
        out.add(new Rua.Https(text, uri));
        return null;
    }
}
