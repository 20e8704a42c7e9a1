/**
 * TLS vocabulary shared by every part of the relay, at the bottom of the package graph (it imports nothing else of
 * the relay):
 * <ul>
 *   <li>{@link org.tlsrelay.core.tls.TlsFailureType} and {@link org.tlsrelay.core.tls.TlsResult}: the RFC 8460 §4.3
 *       result types, used by DANE, MTA-STS, the decision, TLS-RPT and the metrics alike;</li>
 *   <li>{@link org.tlsrelay.core.tls.CertificateNames}: whether a certificate names an MX host (RFC 6125 §6.4 as
 *       RFC 8461 §4.2 narrows it), for the decision and for DANE-TA (RFC 7672 §3.2.2);</li>
 *   <li>{@link org.tlsrelay.core.tls.TrustMaterial}: the CAs that every outbound connection trusts (MX delivery,
 *       MTA-STS policy fetches, policy-list downloads).</li>
 * </ul>
 */
package org.tlsrelay.core.tls;
