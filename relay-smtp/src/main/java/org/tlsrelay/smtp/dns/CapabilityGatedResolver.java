package org.tlsrelay.smtp.dns;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.dns.TlsaRecord;

/**
 * The resolver for DANE's look-ups: the validating one, unless the DNS servers do not do DNSSEC at all
 * ({@link DnssecCapability}), in which case every answer is the plain, insecure one and DANE does not apply.
 */
final class CapabilityGatedResolver implements DnsResolver {
    private final DnssecResolver validating;
    private final DnsResolver plain;
    private final DnssecCapability capability;

    CapabilityGatedResolver(
            DnssecResolver validating, DnsResolver plain, DnssecCapability capability) {
        this.validating = validating;
        this.plain = plain;
        this.capability = capability;
    }

    private DnsResolver use() {
        return capability.current() == DnssecCapability.State.UNSUPPORTED ? plain : validating;
    }

    @Override
    public CompletableFuture<DnsResult<List<MxRecord>>> mx(String domain) {
        return use().mx(domain);
    }

    @Override
    public CompletableFuture<DnsResult<List<InetAddress>>> addresses(String host) {
        return use().addresses(host);
    }

    @Override
    public CompletableFuture<DnsResult<List<String>>> txt(String name) {
        return use().txt(name);
    }

    @Override
    public CompletableFuture<DnsResult<List<TlsaRecord>>> tlsa(String name) {
        return use().tlsa(name);
    }

    @Override
    public String toString() {
        return validating + " (plain answers while the servers return no DNSSEC data)";
    }
}
