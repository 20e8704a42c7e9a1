/**
 * The relay's {@link org.tlsrelay.core.dns.DnsResolver}s on dnsjava, both asynchronous, both asking the servers of
 * {@code dns.servers} (or the system's) with the {@code dns.timeout}, UDP with TCP fallback when an answer is
 * truncated (RFC 7766 §5):
 * <ul>
 *   <li>{@link org.tlsrelay.smtp.dns.DnsjavaResolver}: one {@code LookupSession} (CNAMEs followed, a TTL-honouring
 *   cache), no DNSSEC validation, every answer insecure. Used for everything DANE does not rely on.</li>
 *   <li>{@link org.tlsrelay.smtp.dns.DnssecResolver}: dnsjava's {@code ValidatingResolver} (RFC 4033-4035) against
 *   {@link org.tlsrelay.smtp.dns.TrustAnchors} (the IANA root KSKs shipped in {@code root-anchors.zone}, or
 *   {@code dns.trust-anchors}), for the MX, MX-host address and TLSA look-ups of DANE (RFC 7672 §2.1). Answers are
 *   secure or insecure; bogus ones are failures.</li>
 *   <li>{@link org.tlsrelay.smtp.dns.OptOutNodata}: the NSEC3 Opt-Out NODATA proof (RFC 5155 §7.2.4) checked again,
 *   which the validator finds insecure without giving a reason.</li>
 *   <li>{@link org.tlsrelay.smtp.dns.DnssecProbe}: whether each DNS server can carry validation (recursion, DNSKEY
 *   records with RRSIGs, keys that validate against the trust anchors), decided at start; and
 *   {@link org.tlsrelay.smtp.dns.DnssecMonitor}, which repeats it while the relay runs and reports failures (logs,
 *   metrics) without ever switching validation off.</li>
 *   <li>{@link org.tlsrelay.smtp.dns.RelayResolvers}: both as {@code dns:} configures them; {@code dns.dnssec: off}
 *   leaves out the validating one, and with it DANE. Nothing else does.</li>
 * </ul>
 */
package org.tlsrelay.smtp.dns;
