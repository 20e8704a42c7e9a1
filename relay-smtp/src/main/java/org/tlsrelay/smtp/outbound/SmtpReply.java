package org.tlsrelay.smtp.outbound;

import io.netty.handler.codec.smtp.SmtpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One SMTP reply as a value (RFC 5321 §4.2): the three-digit code, the enhanced status code when the first line
 * carries one (RFC 3463, RFC 2034), and the text of every line after the code. An expected outcome, never an
 * exception: callers look at the code.
 *
 * @param code the reply code, 200..599 for anything an MX sent
 * @param enhancedCode e.g. {@code 5.1.1}; empty when the reply has none
 * @param lines the text of each line after {@code NNN-} / {@code NNN } (enhanced code included, as sent)
 */
public record SmtpReply(int code, String enhancedCode, List<String> lines) {
    // RFC 3463 §2: class.subject.detail, subject and detail 1-3 digits
    private static final Pattern ENHANCED =
            Pattern.compile("^([245])\\.(\\d{1,3})\\.(\\d{1,3})(?=\\s|$)");

    public SmtpReply {
        lines = List.copyOf(lines);
    }

    /** A reply made up by this relay (a local decision standing for a server answer), e.g. 553 5.6.7. */
    public static SmtpReply local(int code, String enhancedCode, String text) {
        return new SmtpReply(code, enhancedCode, List.of(enhancedCode + " " + text));
    }

    /** Converts the Netty codec's reply, parsing the enhanced status code of the first line. */
    static SmtpReply of(SmtpResponse response) {
        List<String> lines = new ArrayList<>(response.details().size());
        for (CharSequence line : response.details()) {
            lines.add(line.toString());
        }
        String enhanced = "";
        if (!lines.isEmpty()) {
            Matcher m = ENHANCED.matcher(lines.get(0));
            // the class digit must agree with the reply code (RFC 3463 §3.1)
            if (m.find() && m.group(1).charAt(0) - '0' == response.code() / 100) {
                enhanced = m.group();
            }
        }
        return new SmtpReply(response.code(), enhanced, lines);
    }

    public boolean isPositive() {
        return code >= 200 && code < 300;
    }

    /** 4xx: try again later (RFC 5321 §4.2.1). */
    public boolean isTransient() {
        return code >= 400 && code < 500;
    }

    /** 5xx: do not try again with the same request. */
    public boolean isPermanent() {
        return code >= 500 && code < 600;
    }

    /** The text of all lines joined by a space: what a DSN's diagnostic code or a log line shows. */
    public String text() {
        return String.join(" ", lines);
    }

    /** {@code 250 2.0.0 Ok}: one line, control characters replaced, safe to log as data. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder().append(code);
        for (String line : lines) {
            b.append(' ');
            line.codePoints().forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        }
        return b.toString();
    }
}
