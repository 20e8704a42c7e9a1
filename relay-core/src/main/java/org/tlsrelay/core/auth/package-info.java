/**
 * SMTP AUTH credentials ({@code server.auth.users}): password hashes in bcrypt ({@code $2a$}, {@code $2b$},
 * {@code $2y$}, Bouncy Castle's OpenBSDBCrypt) or PBKDF2 ({@code $pbkdf2-sha256$} / {@code $pbkdf2-sha512$}, the
 * passlib format); plaintext passwords are never accepted. RFC 4954 SASL mechanisms PLAIN (RFC 4616) and LOGIN carry
 * the password; this package only verifies it.
 */
package org.tlsrelay.core.auth;
