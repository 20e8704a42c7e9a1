package org.tlsrelay.core.policy.list;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the policy-list code takes from the configuration (the relay's composition builds it once, see
 * {@code RelayConfig.listSettings()}).
 *
 * @param lists the configured lists, in order of precedence ({@code policy.lists})
 * @param listsDir where installed copies live: {@code STATE/lists/NAME/}
 * @param systemTrust whether downloads trust the system CAs ({@code delivery.trust.system})
 * @param extraCa further CA files trusted for downloads ({@code delivery.trust.extra-ca})
 * @param connectTimeout {@code delivery.connect-timeout}
 */
public record ListSettings(
        List<ListSource> lists,
        Path listsDir,
        boolean systemTrust,
        List<Path> extraCa,
        Duration connectTimeout) {
    public ListSettings {
        lists = List.copyOf(lists);
        extraCa = List.copyOf(extraCa);
    }
}
