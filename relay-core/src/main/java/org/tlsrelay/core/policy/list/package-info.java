/**
 * STARTTLS-Everywhere-format policy lists (EFF's {@code policy.json} v0.1): parsing, detached OpenPGP signature
 * verification (Bouncy Castle), rollback and expiry checks, atomic install beside the spool, and export.
 */
package org.tlsrelay.core.policy.list;
