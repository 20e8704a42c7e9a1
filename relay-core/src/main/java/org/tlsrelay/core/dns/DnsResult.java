package org.tlsrelay.core.dns;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The outcome of one DNS look-up: records found, an authoritative "there is none", or a failure to get an answer.
 * Callers treat the last two differently (RFC 5321 §5.1, RFC 8461 §3.1/§3.3), so they are separate types.
 *
 * <p>Answers carry their DNSSEC {@link DnsSecurity}: {@link DnsSecurity#SECURE} only from the validating resolver
 * (the look-ups DANE relies on), {@link DnsSecurity#INSECURE} otherwise. A bogus answer is a {@link Failed} with
 * {@link Failure#BOGUS}: it is never data.
 *
 * @param <T> what was found, e.g. {@code List<MxRecord>}
 */
public sealed interface DnsResult<T> {

    /** The name that was asked about, normalised (before any CNAME was followed). */
    String name();

    /**
     * Records were found. {@code canonicalName} is the owner name of the records after following CNAMEs (the asked
     * name when there was none). {@code security} covers the records and every CNAME on the way to them.
     */
    record Found<T>(String name, String canonicalName, T value, DnsSecurity security)
            implements DnsResult<T> {
        public Found {
            name = DnsNames.normalise(name);
            canonicalName = DnsNames.normalise(canonicalName);
            if (value instanceof List<?> l && l.isEmpty()) {
                throw new IllegalArgumentException("Found needs at least one record");
            }
            Objects.requireNonNull(security, "security");
        }

        /** Records from a resolver that does not validate: {@link DnsSecurity#INSECURE}. */
        public Found(String name, String canonicalName, T value) {
            this(name, canonicalName, value, DnsSecurity.INSECURE);
        }
    }

    /**
     * An authoritative answer that there is no such record: the name does not exist, or has no record of the type.
     * {@code security} is {@link DnsSecurity#SECURE} when the absence was proven (NSEC/NSEC3, RFC 4035 §5.4).
     */
    record NoRecords<T>(String name, Absence absence, DnsSecurity security)
            implements DnsResult<T> {
        public NoRecords {
            name = DnsNames.normalise(name);
            Objects.requireNonNull(absence, "absence");
            Objects.requireNonNull(security, "security");
        }

        /** An absence reported by a resolver that does not validate: {@link DnsSecurity#INSECURE}. */
        public NoRecords(String name, Absence absence) {
            this(name, absence, DnsSecurity.INSECURE);
        }
    }

    /** No usable answer; the look-up may succeed later. {@code detail} is for logs and explanations. */
    record Failed<T>(String name, Failure failure, String detail) implements DnsResult<T> {
        public Failed {
            name = DnsNames.normalise(name);
        }
    }

    /** Why there are no records. */
    enum Absence {
        /** RCODE 3: the name does not exist (RFC 8020: nor does anything below it). */
        NXDOMAIN,
        /** RCODE 0 with no record of the asked type (RFC 2308 §2.2), also after following a CNAME. */
        NODATA
    }

    /** Why there is no answer. */
    enum Failure {
        /** The server answered SERVFAIL, REFUSED or another error code. */
        SERVFAIL,
        /** No answer in time from any server. */
        TIMEOUT,
        /** The answer could not be used: malformed, inconsistent, a CNAME loop or too many CNAMEs. */
        MALFORMED,
        /** The name asked about is not a valid DNS name, so it was not sent. */
        INVALID_NAME,
        /** A network error other than a timeout (e.g. no route, connection refused over TCP). */
        NETWORK,
        /**
         * The answer failed DNSSEC validation (RFC 4035 §5.5, "bogus"), or its security could not be established: a
         * forged or broken answer that must not be used. {@code detail} carries the validator's reason.
         */
        BOGUS
    }

    /** The records, when found; empty for NoRecords and Failed. */
    default Optional<T> found() {
        return this instanceof Found<T> f ? Optional.of(f.value()) : Optional.empty();
    }

    default boolean isFound() {
        return this instanceof Found<T>;
    }

    /**
     * Whether this is an answer that DNSSEC validated: records found or an absence proven, {@link DnsSecurity#SECURE}.
     * A failure is never secure.
     */
    default boolean isSecure() {
        if (this instanceof Found<T> f) {
            return f.security() == DnsSecurity.SECURE;
        }
        return this instanceof NoRecords<T> n && n.security() == DnsSecurity.SECURE;
    }

    /** An authoritative "none" (NXDOMAIN or NODATA). */
    default boolean isNoRecords() {
        return this instanceof NoRecords<T>;
    }

    default boolean isFailed() {
        return this instanceof Failed<T>;
    }

    /** The same outcome with the found value transformed (a transformation must not produce an empty list). */
    @SuppressWarnings("unchecked")
    default <U> DnsResult<U> map(Function<? super T, ? extends U> f) {
        if (this instanceof Found<T> found) {
            return new Found<>(
                    found.name(), found.canonicalName(), f.apply(found.value()), found.security());
        }
        return (DnsResult<U>) this; // NoRecords and Failed carry no value of type T
    }

    /** A short description for logs and explanations, e.g. {@code NXDOMAIN} or {@code SERVFAIL (timeout)}. */
    default String describe() {
        String dnssec = isSecure() ? " (DNSSEC secure)" : "";
        if (this instanceof Found<T> f) {
            return "found " + f.value() + dnssec;
        }
        if (this instanceof NoRecords<T> n) {
            return n.absence().name() + dnssec;
        }
        Failed<T> failed = (Failed<T>) this;
        return "DNS failure "
                + failed.failure().name()
                + (failed.detail().isEmpty() ? "" : " (" + failed.detail() + ")");
    }
}
