package org.tlsrelay.cli;

import java.time.Clock;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.AcceptSigner;
import org.tlsrelay.core.dkim.DkimSigner;
import org.tlsrelay.core.dkim.OwnMailSigner;
import org.tlsrelay.core.dkim.SigningKey;
import org.tlsrelay.core.metrics.RelayMetrics;

/**
 * DKIM from the configuration ({@code dkim.*}): the keys, and the three signers the relay hands out: accepted mail
 * ({@code dkim.sign.relayed}), TLS-RPT report mails (the key of {@code reports.submitter}'s domain) and DSNs (the key
 * of {@code server.hostname}'s domain), the last two when {@code dkim.sign.reports} is on.
 *
 * @param relayed for the inbound server
 * @param reports for the report mails queued in the spool
 * @param dsns for the delivery engine's DSNs
 */
record DkimWiring(
        DkimSigner signer, AcceptSigner relayed, OwnMailSigner reports, OwnMailSigner dsns) {
    private static final Logger LOG = LoggerFactory.getLogger(DkimWiring.class);

    /**
     * Reads the keys (they were checked when the configuration loaded; a file that became unreadable since is an
     * {@link IllegalArgumentException} that names it).
     */
    static DkimWiring from(RelayConfig config, RelayMetrics metrics, Clock clock) {
        RelayConfig.Dkim dkim = config.dkim();
        List<SigningKey> keys = dkim.keys().stream().map(RelayConfig.DkimKey::load).toList();
        DkimSigner signer = DkimSigner.of(keys, metrics, clock);
        boolean relayed = dkim.sign().relayed() == RelayConfig.RelayedSigning.FROM_DOMAIN;
        boolean own = dkim.sign().reports();
        return new DkimWiring(
                signer,
                relayed && !keys.isEmpty() ? signer.relayed() : AcceptSigner.none(),
                own ? signer.ownMail(config.reports().submitter()) : OwnMailSigner.none(),
                own ? signer.ownMail(config.server().hostname()) : OwnMailSigner.none());
    }

    /** One log line at start-up that says what will be signed with which key, and warns about what will not. */
    void describe(RelayConfig config) {
        RelayConfig.Dkim dkim = config.dkim();
        List<SigningKey> keys = signer.keys();
        boolean relayed = dkim.sign().relayed() == RelayConfig.RelayedSigning.FROM_DOMAIN;
        if (keys.isEmpty()) {
            if (relayed) {
                LOG.warn(
                        "DKIM: dkim.sign.relayed is from-domain but dkim.keys is empty: nothing is signed");
            } else {
                LOG.info("DKIM: no keys (dkim.keys): nothing is signed");
            }
            return;
        }
        LOG.info(
                "DKIM: {} key(s): {}; relayed mail: {}; reports: {}; DSNs: {}",
                keys.size(),
                keys.stream().map(SigningKey::toString).collect(Collectors.joining(", ")),
                relayed ? "signed by From: domain" : "not signed (dkim.sign.relayed: none)",
                ownMail(dkim, config.reports().submitter()),
                ownMail(dkim, config.server().hostname()));
        if (dkim.sign().reports()) {
            List<String> own =
                    config.reports().enabled()
                            ? List.of(config.reports().submitter(), config.server().hostname())
                            : List.of(config.server().hostname());
            for (String domain : own.stream().distinct().toList()) {
                if (signer.keysFor(domain).isEmpty()) {
                    LOG.warn(
                            "DKIM: no key in dkim.keys covers {} (or a parent domain): mail the relay sends as "
                                    + "{} goes unsigned",
                            domain,
                            domain);
                }
            }
        }
    }

    private String ownMail(RelayConfig.Dkim dkim, String domain) {
        if (!dkim.sign().reports()) {
            return "not signed (dkim.sign.reports: false)";
        }
        List<SigningKey> k = signer.keysFor(domain);
        return k.isEmpty() ? "no key for " + domain : "signed as " + k.get(0).domain();
    }
}
