package org.tlsrelay.cli;

import org.tlsrelay.core.dns.DnsNames;

/** A command was given arguments it cannot use; reported as one line, exit status 2. */
public final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }

    /** {@code domain}, or a usage error when it is not a domain name. */
    static String requireDomain(String domain) {
        if (!DnsNames.isValid(domain)) {
            throw new UsageException("\"" + domain + "\" is not a domain name");
        }
        return domain;
    }
}
