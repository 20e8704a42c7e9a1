package org.tlsrelay.smtp.outbound;

import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What an MX said in its EHLO reply, parsed once (RFC 5321 §4.1.1.1): the extensions this client uses and the SIZE
 * limit. After STARTTLS the reply to the second EHLO replaces it (RFC 3207 §4.2).
 *
 * @param serverName the first word of the EHLO reply's first line (the name the MX gives itself)
 * @param extensions the recognised keywords
 * @param sizeLimit the SIZE parameter in octets (RFC 1870 §4); 0 when absent or unlimited
 */
public record Capabilities(String serverName, Set<Extension> extensions, long sizeLimit) {

    public Capabilities {
        EnumSet<Extension> copy = EnumSet.noneOf(Extension.class);
        copy.addAll(extensions);
        extensions = Collections.unmodifiableSet(copy);
    }

    /** The capabilities of a server that answered HELO: none. */
    static Capabilities helo(SmtpReply reply) {
        return new Capabilities(firstWord(reply), Set.of(), 0);
    }

    /** Parses a 250 reply to EHLO; unknown keywords and malformed SIZE values are ignored. */
    static Capabilities parse(SmtpReply reply) {
        List<String> lines = reply.lines();
        EnumSet<Extension> found = EnumSet.noneOf(Extension.class);
        long size = 0;
        for (int i = 1; i < lines.size(); i++) {
            String[] words = lines.get(i).trim().split("\\s+");
            if (words[0].isEmpty()) {
                continue;
            }
            var ext = Extension.ofKeyword(words[0]);
            if (ext.isEmpty()) {
                continue;
            }
            found.add(ext.get());
            if (ext.get() == Extension.SIZE && words.length > 1 && words[1].matches("\\d{1,18}")) {
                size = Long.parseLong(words[1]);
            }
        }
        return new Capabilities(firstWord(reply), found, size);
    }

    public boolean has(Extension extension) {
        return extensions.contains(extension);
    }

    /** The recognised EHLO keywords, as the MX advertised them (for {@code MxObservation}). */
    public Set<String> keywords() {
        return extensions.stream().map(Extension::keyword).collect(Collectors.toUnmodifiableSet());
    }

    private static String firstWord(SmtpReply reply) {
        if (reply.lines().isEmpty()) {
            return "";
        }
        String first = reply.lines().get(0).trim();
        int sp = first.indexOf(' ');
        return sp < 0 ? first : first.substring(0, sp);
    }
}
