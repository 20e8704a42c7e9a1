/**
 * Structured log lines. A line such as the delivery engine's per-recipient
 * {@code 1j1v7tv5ks0lsh: to=<bob@example.com>, relay=..., status=sent (...)} (Postfix's shape) carries its fields twice:
 * in its message, for the text format and for grep, and as MDC entries while it is logged
 * ({@link org.tlsrelay.core.logging.LogFields}), which the JSON format writes as keys of {@code "mdc"}. So both formats
 * carry the same fields, and the JSON one needs no parsing of messages.
 */
package org.tlsrelay.core.logging;
