package org.tlsrelay.core.config;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.tlsrelay.core.dkim.DkimKeyFile;
import org.tlsrelay.core.dkim.DkimNames;
import org.tlsrelay.core.dkim.InvalidKeyFileException;
import org.tlsrelay.core.dkim.SigningKey;

/** The checks of {@code dkim.keys}: each key's names and file, and no domain and selector listed twice. */
final class DkimKeyChecks {

    private DkimKeyChecks() {}

    /** Checks one key's {@code domain}, {@code selector} and {@code private-key}, and reads the key file. */
    static void check(String domain, String selector, Path privateKey) {
        if (domain == null) {
            throw new InvalidValue("domain", "is required: the d= domain the key signs for");
        }
        if (!DkimNames.isDomain(domain)) {
            throw new InvalidValue("domain", DkimNames.domainProblem(domain));
        }
        if (selector == null) {
            throw new InvalidValue(
                    "selector", "is required: the s= selector the key is published under");
        }
        if (!DkimNames.isSelector(selector)) {
            throw new InvalidValue("selector", DkimNames.selectorProblem(selector));
        }
        if (privateKey == null) {
            throw new InvalidValue(
                    "private-key", "is required: a PEM file (make one with tlsrelay dkim keygen)");
        }
        read(domain, selector, privateKey);
    }

    static SigningKey read(String domain, String selector, Path file) {
        try {
            return DkimKeyFile.read(domain, selector, file);
        } catch (InvalidKeyFileException e) {
            throw new InvalidValue("private-key", e.getMessage());
        }
    }

    /** Fails on a domain and selector (compared without case) listed twice. */
    static void unique(List<RelayConfig.DkimKey> keys) {
        Set<String> seen = new HashSet<>();
        for (RelayConfig.DkimKey k : keys) {
            String id =
                    k.domain().toLowerCase(Locale.ROOT)
                            + " "
                            + k.selector().toLowerCase(Locale.ROOT);
            if (!seen.add(id)) {
                throw new InvalidValue(
                        "keys",
                        "domain "
                                + k.domain()
                                + " with selector "
                                + k.selector()
                                + " is listed twice");
            }
        }
    }
}
