package org.tlsrelay.smtp.inbound;

import java.util.regex.Pattern;

/**
 * SubEthaSMTP's own replies, made ours. Every command is ours ({@link Commands}), but SubEthaSMTP's session loop still
 * answers a few things itself, without an RFC 3463 enhanced status code although ENHANCEDSTATUSCODES (RFC 2034) is
 * advertised, and with texts that name no remedy. All of them, from {@code Session.runCommandLoop} and
 * {@code CommandHandler} of SubEthaSMTP 7.2.2:
 *
 * <ul>
 *   <li>{@code 421 Too many connections, try again later} (its own connection count, set above ours);</li>
 *   <li>{@code 421 Timeout waiting for data from client.} (a command line not complete within the deadline);</li>
 *   <li>{@code 501 Syntax error at character position N. CR and LF must be CRLF paired.  See RFC 2821 #2.7.1.}
 *   (a bare CR or LF in a command line);</li>
 *   <li>{@code 501 Input line length is too long!} (a command line of 998 characters or more);</li>
 *   <li>{@code 501 Syntax error: invalid character encoding.} (a command line that is not UTF-8);</li>
 *   <li>{@code 500 Error: command not implemented} and {@code 500 Error: bad syntax} (an unknown verb, a line
 *   shorter than four characters).</li>
 * </ul>
 *
 * Its {@code 421 4.4.0} and {@code 421 4.3.0} replies (an I/O error or a bug in a command) already carry a code. Any
 * other 4xx or 5xx line without one gets {@code X.0.0}, so that no reply ever goes out without a code. Positive and
 * intermediate replies (220 greeting, 250 to EHLO/HELO, 334, 354) are left alone: RFC 2034 §3 exempts the greeting
 * and the EHLO/HELO replies, and a 334 carries base64 data.
 */
final class Replies {
    private static final Pattern ENHANCED = Pattern.compile("[245]\\.\\d{1,3}\\.\\d{1,3}(?: .*)?");

    /** The reply to a command line longer than the limit (issue 11's contract). */
    static final String LINE_TOO_LONG = "500 5.5.2 Line too long";

    private Replies() {}

    /** {@code reply} as the client must see it; {@code hostname} is the server's name. */
    static String enhance(String reply, String hostname) {
        if (reply.indexOf('\n') >= 0) {
            StringBuilder b = new StringBuilder(reply.length() + 16);
            String[] lines = reply.split("\r\n", -1);
            for (int i = 0; i < lines.length; i++) {
                b.append(i == 0 ? "" : "\r\n").append(line(lines[i], hostname));
            }
            return b.toString();
        }
        return line(reply, hostname);
    }

    private static String line(String line, String hostname) {
        if (line.length() < 3 || (line.charAt(0) != '4' && line.charAt(0) != '5')) {
            return line;
        }
        String text = line.length() > 4 ? line.substring(4) : "";
        if (ENHANCED.matcher(text).matches()) {
            return line;
        }
        String code = line.substring(0, 3);
        if (line.equals("421 Too many connections, try again later")) {
            return "421 4.7.0 " + hostname + " Error: too many connections, try again later";
        }
        if (line.equals("421 Timeout waiting for data from client.")) {
            return "421 4.4.2 " + hostname + " Error: timeout exceeded";
        }
        if (line.startsWith("501 Syntax error at character position")) {
            return "500 5.5.2 Error: bare <CR> or <LF> in a command; lines must end with <CR><LF>";
        }
        if (line.equals("501 Input line length is too long!")) {
            return LINE_TOO_LONG;
        }
        if (line.equals("501 Syntax error: invalid character encoding.")) {
            return "500 5.5.2 Error: a command that is not valid UTF-8";
        }
        if (line.equals("500 Error: command not implemented")) {
            return "500 5.5.2 Error: command not recognized";
        }
        if (line.equals("500 Error: bad syntax")) {
            return "500 5.5.2 Error: bad syntax";
        }
        char sep = line.length() > 3 ? line.charAt(3) : ' ';
        return code + sep + code.charAt(0) + ".0.0" + (text.isEmpty() ? "" : " " + text);
    }

    /** Whether {@code reply} is SubEthaSMTP's answer to a verb it does not know (no command of ours ran). */
    static boolean unknownCommand(String reply) {
        return reply.equals("500 Error: command not implemented")
                || reply.equals("500 Error: bad syntax");
    }

    /** The three-digit code of a reply, or 0 for something that is not one. */
    static int code(String reply) {
        if (reply.length() < 3) {
            return 0;
        }
        int c = 0;
        for (int i = 0; i < 3; i++) {
            char d = reply.charAt(i);
            if (d < '0' || d > '9') {
                return 0;
            }
            c = c * 10 + (d - '0');
        }
        return c;
    }
}
