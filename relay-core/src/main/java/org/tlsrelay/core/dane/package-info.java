/**
 * DANE for SMTP (RFC 7672) on top of the DNS interface: TLSA records ({@link org.tlsrelay.core.dns.TlsaRecord},
 * RFC 6698 §2), the per-MX-host policy look-up ({@link org.tlsrelay.core.dane.DaneLookup}: secure MX and address
 * records, TLSA base domains and CNAMEs, RFC 7672 §2.2, or Postfix's use of a secure host after an insecure MX RRset
 * when {@link org.tlsrelay.core.dane.InsecureMxPolicy} says so) and the certificate decision
 * ({@link org.tlsrelay.core.dane.DaneMatcher}: DANE-EE(3) and DANE-TA(2), RFC 7672 §3 and RFC 7671). No sockets and
 * no DNS library here: the validating resolver lives in {@code org.tlsrelay.smtp.dns}.
 */
package org.tlsrelay.core.dane;
