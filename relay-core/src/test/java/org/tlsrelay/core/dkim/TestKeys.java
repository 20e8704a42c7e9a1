package org.tlsrelay.core.dkim;

import java.security.KeyPair;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Keys made once per test run (an RSA key takes a while to generate). */
public final class TestKeys {
    private static final Map<DkimAlgorithm, KeyPair> PAIRS = new ConcurrentHashMap<>();

    private TestKeys() {}

    public static KeyPair pair(DkimAlgorithm algorithm) {
        return PAIRS.computeIfAbsent(algorithm, a -> DkimKeyFile.generate(a, 2048));
    }

    public static SigningKey rsa(String domain, String selector) {
        return SigningKey.of(domain, selector, pair(DkimAlgorithm.RSA_SHA256).getPrivate());
    }

    public static SigningKey ed25519(String domain, String selector) {
        return SigningKey.of(domain, selector, pair(DkimAlgorithm.ED25519_SHA256).getPrivate());
    }
}
