package org.tlsrelay.core.policy.list;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;

/**
 * Fetches, verifies and installs one configured list (RULES.md; EFF USAGE.md "Using the list"):
 * <ol>
 *   <li>read the pinned key ({@code key}), fetch {@code url} and {@code signature-url};</li>
 *   <li>verify the signature, then parse the list;</li>
 *   <li>refuse a rollback: neither the signature time nor {@code timestamp} may be older than the installed
 *       copy's (RULES.md "timestamp ... monotonically increasing"; EFF's verify.sh compares signature dates);</li>
 *   <li>install atomically beside the spool ({@link ListStore}).</li>
 * </ol>
 * Any failure leaves the installed copy untouched and is returned, with its reason, as {@link UpdateOutcome.Failed}.
 */
public final class PolicyListUpdater {
    private static final Logger LOG = LoggerFactory.getLogger(PolicyListUpdater.class);

    private final Path listsDir;
    private final ListFetcher fetcher;
    private final Clock clock;

    public PolicyListUpdater(Path listsDir, ListFetcher fetcher, Clock clock) {
        this.listsDir = listsDir;
        this.fetcher = fetcher;
        this.clock = clock;
    }

    /** Lists under {@link ListSettings#listsDir()}, fetched with the outbound trust of the settings. */
    public static PolicyListUpdater from(ListSettings settings, Clock clock) throws IOException {
        return new PolicyListUpdater(settings.listsDir(), ListFetcher.from(settings), clock);
    }

    public ListStore store(String name) {
        return new ListStore(listsDir.resolve(name));
    }

    public Clock clock() {
        return clock;
    }

    /**
     * The installed copy of {@code list}, verified again against its configured key; empty when none was
     * installed yet. A copy that no longer verifies is an error, never used.
     */
    public Optional<SignedList> installed(ListSource list)
            throws IOException, ListSignatureException, ListFormatException {
        Optional<ListStore.Copy> copy = store(list.name()).read();
        if (copy.isEmpty()) {
            return Optional.empty();
        }
        ListKey key = loadKey(list);
        return Optional.of(
                SignedList.check(
                        list.name(),
                        copy.get().policy(),
                        copy.get().signature(),
                        key,
                        clock.instant()));
    }

    /** Updates {@code list} now. */
    public UpdateOutcome update(ListSource list) {
        UpdateOutcome outcome = attempt(list);
        if (outcome instanceof UpdateOutcome.Installed i) {
            LOG.info("policy list {}: installed {}", list.name(), i.installed().summary());
        } else if (outcome instanceof UpdateOutcome.Failed f) {
            LOG.warn(
                    "policy list {}: update failed, the last good copy (if any) stays in use: {}",
                    list.name(),
                    f.reason());
        } else {
            LOG.debug("policy list {}: unchanged", list.name());
        }
        return outcome;
    }

    private UpdateOutcome attempt(ListSource list) {
        String name = list.name();
        ListKey key;
        try {
            key = loadKey(list);
        } catch (IOException | ListSignatureException e) {
            return new UpdateOutcome.Failed(name, e.getMessage());
        }
        byte[] policy;
        byte[] signature;
        try {
            policy = fetcher.fetch(list.url(), ListStore.MAX_POLICY_BYTES);
            signature = fetcher.fetch(list.signatureUrl(), ListStore.MAX_SIGNATURE_BYTES);
        } catch (IOException e) {
            return new UpdateOutcome.Failed(name, "fetch failed: " + e.getMessage());
        }
        Instant now = clock.instant();
        SignedList fresh;
        try {
            fresh = SignedList.check(name, policy, signature, key, now);
        } catch (ListSignatureException e) {
            return new UpdateOutcome.Failed(name, "signature refused: " + e);
        } catch (ListFormatException e) {
            return new UpdateOutcome.Failed(name, "not a valid list: " + e.getMessage());
        }

        ListStore store = store(name);
        try {
            // Rollback check and install under one lock: a concurrent update cannot slip in
            // between.
            return store.locked(
                    tx -> {
                        Optional<ListStore.Copy> current;
                        try {
                            current = tx.read();
                        } catch (IOException e) {
                            LOG.warn(
                                    "policy list {}: the installed copy cannot be read ({}); replacing it",
                                    name,
                                    e.getMessage());
                            current = Optional.empty();
                        }
                        if (current.isPresent()) {
                            ListStore.Copy c = current.get();
                            if (Arrays.equals(c.policy(), policy)
                                    && Arrays.equals(c.signature(), signature)) {
                                return new UpdateOutcome.Unchanged(name, fresh);
                            }
                            try {
                                SignedList installed =
                                        SignedList.check(name, c.policy(), c.signature(), key, now);
                                Optional<String> rollback = rollback(fresh, installed);
                                if (rollback.isPresent()) {
                                    return new UpdateOutcome.Failed(name, rollback.get());
                                }
                            } catch (ListSignatureException | ListFormatException e) {
                                LOG.warn(
                                        "policy list {}: the installed copy no longer verifies ({}); replacing it",
                                        name,
                                        Problems.describe(e));
                            }
                        }
                        tx.install(policy, signature);
                        return new UpdateOutcome.Installed(name, fresh);
                    });
        } catch (IOException e) {
            return new UpdateOutcome.Failed(
                    name, "cannot install into " + store.dir() + ": " + Problems.describe(e));
        }
    }

    /** Why {@code fresh} would roll {@code installed} back, if it would. Equal times are not a rollback. */
    static Optional<String> rollback(SignedList fresh, SignedList installed) {
        Instant signedFresh = fresh.signature().created();
        Instant signedInstalled = installed.signature().created();
        if (signedFresh.isBefore(signedInstalled)) {
            return Optional.of(
                    "rollback refused: the signature was made "
                            + signedFresh
                            + ", before the installed copy's "
                            + signedInstalled);
        }
        Instant stampFresh = fresh.document().timestamp();
        Instant stampInstalled = installed.document().timestamp();
        if (stampFresh.isBefore(stampInstalled)) {
            return Optional.of(
                    "rollback refused: the list's timestamp "
                            + stampFresh
                            + " is older than the installed copy's "
                            + stampInstalled);
        }
        return Optional.empty();
    }

    private static ListKey loadKey(ListSource list) throws IOException, ListSignatureException {
        try {
            return ListKey.load(list.key());
        } catch (NoSuchFileException e) {
            throw new IOException("key " + list.key() + ": no such file", e);
        } catch (IOException e) {
            throw new IOException("key " + list.key() + ": cannot read: " + e.getMessage(), e);
        }
    }
}
