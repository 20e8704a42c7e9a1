/**
 * STARTTLS-Everywhere-format policy lists (EFF's {@code policy.json}, format 0.1, as specified in the
 * starttls-everywhere RULES.md and USAGE.md): any number of lists, each with its own URL and pinned OpenPGP key
 * ({@link org.tlsrelay.core.policy.list.ListSource}, one entry of {@code policy.lists}), set up from
 * {@link org.tlsrelay.core.policy.list.ListSettings}.
 * <ul>
 *   <li>{@link org.tlsrelay.core.policy.list.PolicyListParser}: strict parser, errors located by JSON path;
 *       {@link org.tlsrelay.core.policy.list.PolicyListDocument} / {@link org.tlsrelay.core.policy.list.ListEntry}
 *       the parsed list, {@code mxs} as {@link org.tlsrelay.core.policy.MxPattern} list entries;</li>
 *   <li>{@link org.tlsrelay.core.policy.list.ListKey}: detached OpenPGP signature check (RFC 9580, Bouncy Castle),
 *       signing subkeys included; {@link org.tlsrelay.core.policy.list.ListSigner} makes such signatures;</li>
 *   <li>{@link org.tlsrelay.core.policy.list.PolicyListUpdater}: fetch ({@link
 *       org.tlsrelay.core.policy.list.ListFetcher}), verify, refuse rollback, install atomically
 *       ({@link org.tlsrelay.core.policy.list.ListStore}, {@code STATE/lists/NAME/});</li>
 *   <li>{@link org.tlsrelay.core.policy.list.InstalledPolicyLists}: the {@link
 *       org.tlsrelay.core.policy.list.PolicyLists} the resolver asks, with expiry and a periodic refresher;</li>
 *   <li>{@link org.tlsrelay.core.policy.list.PostfixExport}: a Postfix {@code smtp_tls_policy_maps} table.</li>
 * </ul>
 */
package org.tlsrelay.core.policy.list;
