/**
 * The relay's {@link org.tlsrelay.core.dns.DnsResolver} on dnsjava: asynchronous look-ups through one
 * {@code LookupSession} (CNAMEs followed, a TTL-honouring cache), UDP with TCP fallback when an answer is truncated
 * (RFC 7766 §5), the servers of {@code dns.servers} or the system's, and the {@code dns.timeout}.
 */
package org.tlsrelay.smtp.dns;
