package org.tlsrelay.core.policy.mtasts;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * The strict MTA-STS policy parser (RFC 8461 §3.2):
 * <pre>
 * sts-policy-record   = sts-policy-field *WSP *(sts-policy-term sts-policy-field *WSP) [sts-policy-term]
 * sts-policy-field    = version / mode / max_age / mx / extension, each "key" ":" *WSP value
 * sts-policy-term     = LF / CRLF
 * version: STSv1      mode: testing / enforce / none (case-sensitive)
 * max_age: 1*10DIGIT  (at most 31557600: larger values are clamped)
 * mx: ["*."] Domain   (one or more; none needed when mode is none)
 * sts-policy-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 * </pre>
 * Unknown keys are ignored (§3.2: "unknown fields SHALL be ignored"); for any key but {@code mx} the first occurrence
 * counts. Keys are case-sensitive ({@code %s}), so {@code Mode:} is an unknown key, not the mode. No blank lines,
 * no control characters, UTF-8 only. Each error names its line.
 */
public final class PolicyParser {
    /** Policies larger than this are not read (a policy is a few hundred bytes; this bounds hostile input). */
    public static final int MAX_BYTES = 64 * 1024;

    private static final Pattern LINE =
            Pattern.compile("([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \\t]*(.*?)[ \\t]*");
    private static final Pattern MAX_AGE = Pattern.compile("[0-9]{1,10}");
    // RFC 5321 §4.1.2 Domain: sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]; no
    // trailing dot.
    private static final Pattern DOMAIN =
            Pattern.compile(
                    "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final List<String> KNOWN = List.of("version", "mode", "max_age", "mx");

    private PolicyParser() {}

    public static PolicyParse parse(String text) {
        return parse(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Parses a policy file as fetched. */
    public static PolicyParse parse(byte[] body) {
        List<String> errors = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        if (body.length > MAX_BYTES) {
            errors.add("the policy is more than " + MAX_BYTES + " bytes, the most senders read");
            return new PolicyParse(null, null, List.of(), null, errors, warnings, null);
        }
        if (body.length == 0) {
            errors.add("the policy is empty");
            return new PolicyParse(null, null, List.of(), null, errors, warnings, null);
        }
        String version = null;
        PolicyMode mode = null;
        Long maxAge = null;
        List<MxPattern> mx = new ArrayList<>();
        Map<String, Integer> firstLine = new HashMap<>();
        Map<String, String> caseMisses = new HashMap<>();

        List<byte[]> lines = splitLines(body);
        for (int i = 0; i < lines.size(); i++) {
            int n = i + 1;
            String line;
            try {
                line =
                        StandardCharsets.UTF_8
                                .newDecoder()
                                .onMalformedInput(CodingErrorAction.REPORT)
                                .onUnmappableCharacter(CodingErrorAction.REPORT)
                                .decode(ByteBuffer.wrap(lines.get(i)))
                                .toString();
            } catch (CharacterCodingException e) {
                errors.add("line " + n + ": not valid UTF-8");
                continue;
            }
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1); // CRLF terminator
            }
            if (line.isEmpty()) {
                errors.add(
                        "line "
                                + n
                                + ": empty line (the policy has one \"key: value\" per line, no blank lines)");
                continue;
            }
            String control = firstControl(line);
            if (control != null) {
                errors.add("line " + n + ": control character " + control);
                continue;
            }
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                errors.add(
                        "line "
                                + n
                                + ": \""
                                + abbreviate(line)
                                + "\" is not a \"key: value\" line");
                continue;
            }
            String key = m.group(1);
            String value = m.group(2);
            if (value.isEmpty()) {
                errors.add("line " + n + ": " + key + ": no value");
                continue;
            }
            if (!KNOWN.contains(key)) {
                String lower = key.toLowerCase(Locale.ROOT);
                if (KNOWN.contains(lower)) {
                    caseMisses.putIfAbsent(
                            lower, "line " + n + " has \"" + key + "\"; keys are case-sensitive");
                    warnings.add(
                            "line "
                                    + n
                                    + ": \""
                                    + key
                                    + "\" is not \""
                                    + lower
                                    + "\" (keys are case-sensitive): ignored as an unknown key");
                }
                continue; // RFC 8461 §3.2: unknown fields are ignored
            }
            if (!key.equals("mx") && firstLine.containsKey(key)) {
                warnings.add(
                        "line "
                                + n
                                + ": "
                                + key
                                + " repeated; the first (line "
                                + firstLine.get(key)
                                + ") applies");
                continue;
            }
            switch (key) {
                case "version" -> {
                    if (value.equals("STSv1")) {
                        version = value;
                    } else {
                        errors.add(
                                "line "
                                        + n
                                        + ": version: \""
                                        + abbreviate(value)
                                        + "\" is not STSv1");
                    }
                }
                case "mode" -> {
                    PolicyMode parsed = PolicyMode.parse(value).orElse(null);
                    if (parsed != null) {
                        mode = parsed;
                    } else {
                        errors.add(
                                "line "
                                        + n
                                        + ": mode: \""
                                        + abbreviate(value)
                                        + "\" is not enforce, testing or none");
                    }
                }
                case "max_age" -> {
                    if (MAX_AGE.matcher(value).matches()) {
                        long seconds = Long.parseLong(value);
                        if (seconds > MtaStsPolicy.MAX_AGE_LIMIT) {
                            warnings.add(
                                    "line "
                                            + n
                                            + ": max_age "
                                            + seconds
                                            + " is more than "
                                            + MtaStsPolicy.MAX_AGE_LIMIT
                                            + "; senders use "
                                            + MtaStsPolicy.MAX_AGE_LIMIT);
                            seconds = MtaStsPolicy.MAX_AGE_LIMIT;
                        }
                        maxAge = seconds;
                    } else {
                        errors.add(
                                "line "
                                        + n
                                        + ": max_age: \""
                                        + abbreviate(value)
                                        + "\" is not a number of seconds (1 to 10 digits)");
                    }
                }
                default -> { // mx
                    MxPattern p = mxPattern(value);
                    if (p == null) {
                        errors.add(
                                "line "
                                        + n
                                        + ": mx: \""
                                        + abbreviate(value)
                                        + "\" is not a host name or a *.domain wildcard");
                    } else {
                        if (mx.contains(p)) {
                            warnings.add("line " + n + ": mx " + p.text() + " repeated");
                        }
                        mx.add(p);
                    }
                }
            }
            firstLine.putIfAbsent(key, n);
        }
        if (!firstLine.containsKey("version")) {
            errors.add(
                    "version: missing; a policy must say \"version: STSv1\""
                            + hint(caseMisses, "version"));
        }
        if (!firstLine.containsKey("mode")) {
            errors.add("mode: missing (enforce, testing or none)" + hint(caseMisses, "mode"));
        }
        if (!firstLine.containsKey("max_age")) {
            errors.add(
                    "max_age: missing (seconds the policy may be cached)"
                            + hint(caseMisses, "max_age"));
        }
        if (mode != null
                && mode != PolicyMode.NONE
                && mx.isEmpty()
                && !firstLine.containsKey("mx")) {
            errors.add(
                    "mx: missing; mode "
                            + mode.label()
                            + " needs at least one mx line"
                            + hint(caseMisses, "mx"));
        }
        // Errors come in line order, then the missing keys. A valid policy keeps its text as
        // fetched.
        MtaStsPolicy policy =
                errors.isEmpty()
                        ? new MtaStsPolicy(
                                mode, mx, maxAge, new String(body, StandardCharsets.UTF_8))
                        : null;
        return new PolicyParse(
                version,
                mode,
                mx.stream().map(MxPattern::text).toList(),
                maxAge,
                errors,
                warnings,
                policy);
    }

    /** Splits at LF. A final LF ends the last line; it does not start an empty one. */
    private static List<byte[]> splitLines(byte[] body) {
        List<byte[]> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < body.length; i++) {
            if (body[i] == '\n') {
                lines.add(java.util.Arrays.copyOfRange(body, start, i));
                start = i + 1;
            }
        }
        if (start < body.length) {
            lines.add(java.util.Arrays.copyOfRange(body, start, body.length));
        }
        return lines;
    }

    /** An MTA-STS mx value: {@code ["*."] Domain} (RFC 8461 §3.2, §4.1), or null. */
    private static MxPattern mxPattern(String value) {
        String domain = value.startsWith("*.") ? value.substring(2) : value;
        if (domain.length() > 253 || !DOMAIN.matcher(domain).matches()) {
            return null;
        }
        try {
            return MxPattern.ofMtaSts(value);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The first character not allowed in a policy line (CTLs but HTAB: RFC 8461 §3.2 ext-value), described. */
    private static String firstControl(String line) {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7F) {
                return String.format("U+%04X at column %d", (int) c, i + 1);
            }
        }
        return null;
    }

    private static String hint(Map<String, String> caseMisses, String key) {
        String h = caseMisses.get(key);
        return h == null ? "" : " (" + h + ")";
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
