package org.tlsrelay.smtp.dns;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.Master;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * DNSSEC trust anchors (RFC 4033 §2, "trust anchor"): DS or DNSKEY records in zone-file form, the way dnsjava's
 * validator reads them. By default the IANA root anchors shipped with the relay ({@code root-anchors.zone}: the
 * KSK-2017 and KSK-2024 DS records); {@code dns.trust-anchors} files replace them.
 *
 * @param text the records, zone-file form, absolute owner names
 * @param source where they came from, for logs and errors
 */
public record TrustAnchors(String text, String source) {
    private static final String ROOT = "root-anchors.zone";

    public TrustAnchors {
        List<Record> anchors = parse(text, source);
        if (anchors.isEmpty()) {
            throw new IllegalArgumentException(
                    source + ": no DS or DNSKEY record, so nothing could ever validate");
        }
    }

    /** The IANA root trust anchors shipped with the relay. */
    public static TrustAnchors root() {
        try (InputStream in = TrustAnchors.class.getResourceAsStream(ROOT)) {
            if (in == null) {
                throw new IllegalStateException(ROOT + " is missing from the relay's jar");
            }
            return new TrustAnchors(
                    new String(in.readAllBytes(), StandardCharsets.US_ASCII), "built-in IANA root");
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + ROOT, e);
        }
    }

    /** The anchors in {@code files}, together; an unreadable file or one without anchors is an error naming it. */
    public static TrustAnchors fromFiles(List<Path> files) throws IOException {
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no trust anchor file given");
        }
        StringBuilder all = new StringBuilder();
        List<String> names = new ArrayList<>();
        for (Path f : files) {
            String text;
            try {
                text = Files.readString(f, StandardCharsets.US_ASCII);
            } catch (NoSuchFileException e) {
                throw new IOException("dns.trust-anchors: " + f + ": no such file", e);
            } catch (IOException e) {
                throw new IOException(
                        "dns.trust-anchors: " + f + ": cannot read: " + e.getMessage(), e);
            }
            new TrustAnchors(
                    text, "dns.trust-anchors: " + f); // checks each file on its own, naming it
            all.append(text).append('\n');
            names.add(f.toString());
        }
        return new TrustAnchors(all.toString(), String.join(", ", names));
    }

    /** The anchors {@code dns.trust-anchors} names, or the built-in root anchors when it names none. */
    public static TrustAnchors configured(List<Path> files) throws IOException {
        return files.isEmpty() ? root() : fromFiles(files);
    }

    /** The owner names of the anchors (the root for the built-in ones): where validation starts. */
    public List<Name> names() {
        return parse(text, source).stream().map(Record::getName).distinct().toList();
    }

    /** The text, for {@code ValidatingResolver.loadTrustAnchors}. */
    InputStream stream() {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII));
    }

    /** The DS and DNSKEY records of {@code text}; a syntax error is an {@link IllegalArgumentException}. */
    private static List<Record> parse(String text, String source) {
        List<Record> anchors = new ArrayList<>();
        try (Master m =
                new Master(
                        new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)),
                        Name.root,
                        0)) {
            for (Record r = m.nextRecord(); r != null; r = m.nextRecord()) {
                if (r.getType() == Type.DS || r.getType() == Type.DNSKEY) {
                    anchors.add(r);
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    source + ": not a zone file of DS/DNSKEY records: " + e.getMessage(), e);
        }
        return anchors;
    }
}
