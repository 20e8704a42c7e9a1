package org.tlsrelay.cli;

import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.Idna;

/** A command was given arguments it cannot use; reported as one line, exit status 2. */
public final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }

    /**
     * {@code domain} as DNS knows it (lower case; U-labels as A-labels, {@code bücher.example} as
     * {@code xn--bcher-kva.example}), or a usage error when it is not a domain name.
     */
    static String requireDomain(String domain) {
        Idna.Conversion ascii = Idna.toAscii(domain);
        if (ascii instanceof Idna.Conversion.Invalid bad) {
            throw new UsageException(bad.describe());
        }
        String name = ((Idna.Conversion.Ascii) ascii).name();
        if (!DnsNames.isValid(name)) {
            throw new UsageException("\"" + domain + "\" is not a domain name");
        }
        return name;
    }
}
