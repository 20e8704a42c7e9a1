package org.tlsrelay.core.policy.list;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * A parsed STARTTLS-Everywhere policy list ({@code policy.json}, format version 0.1). Immutable. Domains are held
 * lower case, in the order the file gives them; look-ups are exact and case-insensitive (RULES.md "policies":
 * {@code eff.org} does not cover {@code lists.eff.org}).
 */
public final class PolicyListDocument {
    private final Instant timestamp;
    private final Instant expires;
    private final String version;
    private final String author;
    private final Map<String, Policy> aliases;
    private final Map<String, ListEntry> entries;
    private final List<String> warnings;

    PolicyListDocument(
            Instant timestamp,
            Instant expires,
            String version,
            String author,
            Map<String, Policy> aliases,
            Map<String, ListEntry> entries,
            List<String> warnings) {
        this.timestamp = timestamp;
        this.expires = expires;
        this.version = version;
        this.author = author;
        this.aliases = Collections.unmodifiableMap(new LinkedHashMap<>(aliases));
        this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        this.warnings = List.copyOf(warnings);
    }

    /**
     * What is odd but valid, each with its JSON path, e.g. an {@code expires} that is not later than the
     * {@code timestamp} (the format does not order them: such a list is simply expired).
     */
    public List<String> warnings() {
        return warnings;
    }

    /** When the list was made; never goes backwards between updates (RULES.md "timestamp"). */
    public Instant timestamp() {
        return timestamp;
    }

    /** From this instant on the list no longer applies. */
    public Instant expires() {
        return expires;
    }

    public String version() {
        return version;
    }

    public Optional<String> author() {
        return Optional.ofNullable(author);
    }

    /** {@code policy-aliases}, by name (case-sensitive), in file order. */
    public Map<String, Policy> aliases() {
        return aliases;
    }

    /** Every domain's entry, keyed by lower-case domain, in file order. */
    public Map<String, ListEntry> entries() {
        return entries;
    }

    /**
     * Whether the list has expired at {@code now}. An expired list must not be used: its domains fall back to
     * opportunistic TLS (RULES.md "expires").
     */
    public boolean isExpiredAt(Instant now) {
        return !now.isBefore(expires);
    }

    /** The entry for {@code domain} (exact match, case-insensitive, trailing dot ignored), aliases followed. */
    public Optional<ListEntry> entry(String domain) {
        return Optional.ofNullable(entries.get(MxPattern.normalise(domain)));
    }

    /** How many entries are in mode {@code enforce}; the others are {@code testing} (the list has no {@code none}). */
    public long enforcingCount() {
        return entries.values().stream()
                .filter(e -> e.policy().mode() == PolicyMode.ENFORCE)
                .count();
    }

    /** How many entries borrow an alias's policy. */
    public long aliasedCount() {
        return entries.values().stream().filter(e -> e instanceof ListEntry.Aliased).count();
    }
}
