/**
 * Destination MXs for tests, on loopback ports: {@link org.tlsrelay.smtp.testmx.TestMx} can present any certificate
 * (right name, wrong name, expired, untrusted CA), offer or withhold STARTTLS, fail the handshake, inject plain text
 * after its STARTTLS reply (RFC 3207 §5), refuse recipients, stay silent, and records every command and message so
 * that a test can assert, for instance, that a refused MX never saw MAIL FROM.
 */
package org.tlsrelay.smtp.testmx;
