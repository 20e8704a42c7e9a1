/**
 * The {@code tlsrelay} command line (Picocli): the composition root that wires core and SMTP together.
 * <ul>
 *   <li>The commands, one class per command group ({@link org.tlsrelay.cli.CommandGroup}); what they share is in
 *       mixins: {@link org.tlsrelay.cli.Output} (streams, JSON, {@code tlsrelay: ...} errors),
 *       {@link org.tlsrelay.cli.JsonOption} ({@code --json}, its help lines in {@code Messages.properties}) and
 *       {@link org.tlsrelay.cli.ConfigOption} ({@code --config}); {@link org.tlsrelay.cli.Main} turns any error a
 *       command leaves into one plain line and exit status 2.</li>
 *   <li>The running relay ({@link org.tlsrelay.cli.Relay}): ports bound first ({@link org.tlsrelay.cli.Listeners}),
 *       the state checked and made private ({@link org.tlsrelay.cli.StateAccess}), then spool, policy machinery
 *       ({@link org.tlsrelay.cli.PolicyWiring}), delivery engine and listener; the admin HTTP server ({@code /metrics}
 *       in the Prometheus format, {@code /health}, {@code /ready}), the log format switch, and the graceful stop on
 *       SIGTERM.</li>
 *   <li>{@link org.tlsrelay.cli.ConfigCheck}: what {@code config check} verifies beyond the file, without starting.</li>
 *   <li>{@link org.tlsrelay.cli.CdsTraining}: the training run from which the launcher builds its class-data sharing
 *       archive (shorter starts); not a command.</li>
 * </ul>
 */
package org.tlsrelay.cli;
