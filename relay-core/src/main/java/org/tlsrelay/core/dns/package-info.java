/**
 * DNS as the relay needs it: the {@link org.tlsrelay.core.dns.DnsResolver} interface (MX, A/AAAA, TXT, TLSA)
 * and its values ({@link org.tlsrelay.core.dns.MxRecord}, {@link org.tlsrelay.core.dns.TlsaRecord}, RFC 6698 §2). Look-ups are asynchronous so that no event-loop thread ever waits for DNS. Results tell "no such
 * record" (NXDOMAIN or NODATA, an authoritative answer) apart from "DNS failed" (SERVFAIL, timeout, a malformed
 * answer), because callers must treat them differently: RFC 5321 §5.1 defers on a temporary failure but falls back
 * to the domain's address records when there is no MX; RFC 8461 §3.1 sees no policy when there is no TXT record.
 * Answers carry their DNSSEC status ({@link org.tlsrelay.core.dns.DnsSecurity}, RFC 4033 §5): DANE (RFC 7672 §2.1)
 * may only act on secure answers, and a bogus one is a failure, never data.
 * Internationalised domain names become A-labels here ({@link org.tlsrelay.core.dns.Idna}: UTS #46 mapping,
 * IDNA2008 validity, RFC 5891 §5) before DNS, a policy, a certificate or TLS-RPT sees them.
 * The implementation on dnsjava lives in {@code org.tlsrelay.smtp.dns}; nothing here names a DNS library.
 */
package org.tlsrelay.core.dns;
