package org.tlsrelay.core.dkim;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.metrics.RelayMetrics;

/**
 * The relay's DKIM signer (RFC 6376, RFC 8463): the configured keys, and the two ways mail gets signed.
 *
 * <ul>
 *   <li>{@link #relayed()}: mail accepted from clients, signed while it streams into the spool, with the keys of the
 *       author's domain ({@code From:}), or of its closest parent domain that has keys;</li>
 *   <li>{@link #ownMail(String)}: DSNs and TLS-RPT report mails, signed with the keys of a given domain.</li>
 * </ul>
 * A domain with several keys (an RSA and an Ed25519 key, RFC 8463 §6) gets one signature from each. Every signature
 * is {@code c=relaxed/relaxed} with SHA-256, covers {@link SignedHeaders the usual fields} and carries {@code t=}.
 * A message that already carries a signature of the same {@code d=} and {@code s=} is not signed again by that key.
 */
public final class DkimSigner {
    static final Logger LOG = LoggerFactory.getLogger(DkimSigner.class);

    private final Map<String, List<SigningKey>> byDomain;
    private final RelayMetrics metrics;
    private final Clock clock;

    private DkimSigner(List<SigningKey> keys, RelayMetrics metrics, Clock clock) {
        Map<String, List<SigningKey>> m = new LinkedHashMap<>();
        for (SigningKey k : keys) {
            m.computeIfAbsent(k.domain(), d -> new ArrayList<>()).add(k);
        }
        m.replaceAll((d, l) -> List.copyOf(l));
        this.byDomain = Map.copyOf(m);
        this.metrics = metrics;
        this.clock = clock;
        // every counter at 0 from the start: a signature per key, an unsigned message per reason
        keys.forEach(k -> metrics.dkimKey(k.domain(), k.algorithm().tag()));
        for (Unsignable u : Unsignable.values()) {
            metrics.dkimFailure(u.label());
        }
    }

    /** A signer with these keys; signatures are counted in {@code metrics}, {@code t=} comes from {@code clock}. */
    public static DkimSigner of(List<SigningKey> keys, RelayMetrics metrics, Clock clock) {
        return new DkimSigner(keys, metrics, clock);
    }

    /** Every configured key. */
    public List<SigningKey> keys() {
        return byDomain.values().stream().flatMap(List::stream).toList();
    }

    /**
     * The keys that sign for {@code domain}: those of the domain itself or, failing that, of its closest parent that
     * has keys ({@code mail.example.org} is signed as {@code example.org}, which DMARC's relaxed alignment accepts).
     */
    public List<SigningKey> keysFor(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        while (true) {
            List<SigningKey> keys = byDomain.get(d);
            if (keys != null) {
                return keys;
            }
            int dot = d.indexOf('.');
            if (dot < 0) {
                return List.of();
            }
            d = d.substring(dot + 1);
        }
    }

    /** Signs accepted mail by its author's domain ({@code dkim.sign.relayed: from-domain}). */
    public AcceptSigner relayed() {
        return reception -> new SigningPass(this, reception);
    }

    /**
     * Signs the relay's own mail with the keys for {@code domain} ({@code reports.submitter} for reports,
     * {@code server.hostname} for DSNs); signs nothing when no key covers it.
     */
    public OwnMailSigner ownMail(String domain) {
        List<SigningKey> keys = keysFor(domain);
        if (keys.isEmpty()) {
            return OwnMailSigner.none();
        }
        return message -> signWhole(message, keys);
    }

    // ------------------------------------------------------------------ shared by both ways

    /** What to do with a message, decided from its header section. */
    sealed interface Decision {
        /** Sign with these keys, covering these fields. */
        record Sign(List<SignatureHeader> signatures, List<HeaderField> fields)
                implements Decision {}

        /** Leave it as it is: no key covers its author, or it is signed already. */
        record Skip(String why) implements Decision {}

        /** It should be signed but cannot be. */
        record Fail(Unsignable why, String detail) implements Decision {}
    }

    /**
     * Decides from the header fields ({@code header[0..length)}, the empty line excluded) with the keys chosen by the
     * author's domain, or with {@code fixed} keys.
     */
    Decision decide(byte[] header, int length, Optional<List<SigningKey>> fixed) {
        HeaderSection.Parsed parsed = HeaderSection.parse(header, length);
        if (parsed instanceof HeaderSection.Parsed.Malformed m) {
            return new Decision.Fail(Unsignable.MALFORMED_HEADER, m.reason());
        }
        List<HeaderField> fields = ((HeaderSection.Parsed.Fields) parsed).section().fields();
        Author.Found author = Author.of(fields);
        if (author instanceof Author.Found.None none) {
            return new Decision.Fail(none.why(), "");
        }
        String domain = ((Author.Found.Domain) author).name();
        List<SigningKey> keys = fixed.orElseGet(() -> keysFor(domain));
        if (keys.isEmpty()) {
            return new Decision.Skip("no key in dkim.keys covers " + domain);
        }
        long t = clock.instant().getEpochSecond();
        List<String> h = SignedHeaders.choose(fields);
        List<SignatureHeader> signatures = new ArrayList<>();
        for (SigningKey key : keys) {
            if (!ExistingSignatures.signedBy(fields, key)) {
                signatures.add(new SignatureHeader(key, h, t));
            }
        }
        if (signatures.isEmpty()) {
            return new Decision.Skip("it is signed already by " + keys);
        }
        return new Decision.Sign(signatures, fields);
    }

    /** The final field of {@code signature}: {@code bh=} from {@code bodyHash}, {@code b=} signed. */
    static String complete(SignatureHeader signature, List<HeaderField> fields, byte[] bodyHash)
            throws GeneralSecurityException {
        String bh = Base64.getEncoder().encodeToString(bodyHash);
        byte[] input =
                SignedHeaders.hashInput(
                        fields, signature.signedHeaders(), signature.render(bh, ""));
        String b = Base64.getEncoder().encodeToString(signature.key().sign(input));
        return signature.render(bh, b);
    }

    void signed(SigningKey key) {
        metrics.dkimSigned(key.domain(), key.algorithm().tag());
    }

    void failed(Unsignable why) {
        metrics.dkimFailed(why.label());
    }

    // ------------------------------------------------------------------ own mail

    private byte[] signWhole(byte[] message, List<SigningKey> keys) {
        int fieldsEnd = headerEnd(message);
        int bodyStart = Math.min(message.length, fieldsEnd + 2);
        Decision d = decide(message, fieldsEnd, Optional.of(keys));
        if (d instanceof Decision.Fail f) {
            failed(f.why());
            LOG.warn("own mail not DKIM-signed: {}{}", f.why().why(), detail(f.detail()));
            return message;
        }
        if (!(d instanceof Decision.Sign sign)) {
            return message;
        }
        RelaxedBodyHash body = new RelaxedBodyHash();
        body.write(message, bodyStart, message.length - bodyStart);
        byte[] bh = body.digest();
        ByteArrayOutputStream out = new ByteArrayOutputStream(message.length + 1024);
        try {
            for (SignatureHeader s : sign.signatures()) {
                out.writeBytes(complete(s, sign.fields(), bh).getBytes(StandardCharsets.US_ASCII));
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            failed(Unsignable.ERROR);
            LOG.warn("own mail not DKIM-signed: signing failed: {}", Problems.describe(e));
            return message;
        }
        sign.signatures().forEach(s -> signed(s.key()));
        out.writeBytes(message);
        return out.toByteArray();
    }

    /**
     * Where the header fields of {@code message} end: before the CRLF of the empty line that ends the header section
     * (0 when the message starts with it), or the end of the message when it has no body.
     */
    static int headerEnd(byte[] message) {
        if (message.length >= 2 && message[0] == '\r' && message[1] == '\n') {
            return 0;
        }
        for (int i = 0; i + 3 < message.length; i++) {
            if (message[i] == '\r'
                    && message[i + 1] == '\n'
                    && message[i + 2] == '\r'
                    && message[i + 3] == '\n') {
                return i + 2;
            }
        }
        return message.length;
    }

    static String detail(String detail) {
        return detail.isEmpty() ? "" : ": " + detail;
    }
}
