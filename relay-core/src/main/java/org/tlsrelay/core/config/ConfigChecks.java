package org.tlsrelay.core.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/** The value checks and defaults that the sections of {@link RelayConfig} share. */
final class ConfigChecks {

    private ConfigChecks() {}

    /** An immutable copy without nulls: a value that failed to parse was already reported and stands as null. */
    static <T> List<T> listOf(List<T> values) {
        return values.stream().filter(Objects::nonNull).toList();
    }

    static Integer positive(String key, Integer value, int fallback) {
        if (value == null) {
            return fallback;
        }
        if (value < 1) {
            throw new InvalidValue(key, value + " is not a whole number of 1 or more");
        }
        return value;
    }

    static Integer portNumber(Integer value, String key, int fallback) {
        if (value == null) {
            return fallback;
        }
        if (value < 1 || value > 65535) {
            throw new InvalidValue(key, value + " is not a port number (1-65535)");
        }
        return value;
    }

    static Integer notNegative(String key, Integer value, int fallback) {
        if (value == null) {
            return fallback;
        }
        if (value < 0) {
            throw new InvalidValue(key, value + " is not a whole number of 0 or more");
        }
        return value;
    }

    static void longerThanZero(String key, Duration value) {
        if (value.isNegative() || value.isZero()) {
            throw new InvalidValue(key, "must be longer than 0s");
        }
    }

    static void notNegative(String key, Duration value) {
        if (value.isNegative()) {
            throw new InvalidValue(key, "must not be negative");
        }
    }

    static String localHostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
