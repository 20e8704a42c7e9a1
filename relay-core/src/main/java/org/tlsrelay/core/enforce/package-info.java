/**
 * The enforce/testing decision, kept apart from the sockets (measure, then decide).
 *
 * <ul>
 *   <li>{@link org.tlsrelay.core.enforce.MxPolicy}: the policy one MX host is judged under, the domain's resolved
 *       policy and what DANE says about the host;</li>
 *   <li>{@link org.tlsrelay.core.enforce.TlsObservation}: what a connection showed (STARTTLS offered, handshake,
 *       chain trust per RFC 5280, validity period, MX name per RFC 6125 §6.4 as RFC 8461 §4.2 narrows it:
 *       {@link org.tlsrelay.core.tls.CertificateNames});</li>
 *   <li>{@link org.tlsrelay.core.enforce.Enforcer}: the one pure function that reads the policy mode
 *       (RFC 8461 §4.1, §4.2, §5) and returns a {@link org.tlsrelay.core.enforce.Verdict}; DANE per MX host first
 *       (RFC 7672 §2.2, §3; RFC 8461 §2), with the presented chain and the time passed in, and the message's own
 *       {@link org.tlsrelay.core.enforce.TlsRequirement} (RFC 8689 REQUIRETLS, {@code TLS-Required: No}) on top;</li>
 *   <li>{@link org.tlsrelay.core.enforce.TlsOutcome}: the event a TLS-RPT report (RFC 8460 §4.4) aggregates, with
 *       the RFC 8460 §4.3 result types of {@link org.tlsrelay.core.tls.TlsFailureType}.</li>
 * </ul>
 * Nothing here does I/O or reads the clock.
 */
package org.tlsrelay.core.enforce;
