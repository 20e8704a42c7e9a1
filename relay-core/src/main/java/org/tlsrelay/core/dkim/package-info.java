/**
 * DKIM signing (RFC 6376) of the mail the relay sends: RSA-SHA256 and Ed25519-SHA256 (RFC 8463), relaxed/relaxed
 * canonicalization, written here on JDK and Bouncy Castle primitives so that a message is signed while it streams
 * into the spool (see {@link org.tlsrelay.core.dkim.SigningPass}).
 *
 * <ul>
 *   <li>{@link org.tlsrelay.core.dkim.DkimSigner}: the configured keys and the two ways to sign, accepted mail by its
 *       author's domain ({@link org.tlsrelay.core.dkim.AcceptSigner}) and the relay's own mail
 *       ({@link org.tlsrelay.core.dkim.OwnMailSigner}).</li>
 *   <li>Canonicalization (§3.4): {@link org.tlsrelay.core.dkim.HeaderField#relaxed()} and
 *       {@link org.tlsrelay.core.dkim.RelaxedBodyHash}; which fields are signed (§5.4):
 *       {@link org.tlsrelay.core.dkim.SignedHeaders}; the signature field (§3.5):
 *       {@link org.tlsrelay.core.dkim.SignatureHeader}.</li>
 *   <li>Keys: {@link org.tlsrelay.core.dkim.DkimKeyFile} (PEM files, generation),
 *       {@link org.tlsrelay.core.dkim.SigningKey}, and the public key record of §3.6.1
 *       ({@link org.tlsrelay.core.dkim.KeyRecord}) that {@code dkim keygen} prints and {@code dkim check} compares.</li>
 * </ul>
 * Verification is not here: the relay signs what it sends; tests check its signatures with independent verifiers.
 */
package org.tlsrelay.core.dkim;
