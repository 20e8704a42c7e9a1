package org.tlsrelay.core.metrics;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.tlsrelay.core.io.Problems;

/**
 * Named liveness checks (listener, spool, scheduler, ...), degradation checks (spool space) and one readiness switch. Each check answers with an empty
 * value when its part is up, or with a reason. A check must be quick and must not block: it is run on every
 * {@code GET /health}.
 */
public final class Health {
    private final Map<String, Supplier<Optional<String>>> checks = new ConcurrentHashMap<>();
    private final Map<String, Supplier<Optional<String>>> degradations = new ConcurrentHashMap<>();
    private final Map<String, Integer> order = new ConcurrentHashMap<>();
    private volatile String notReady = "starting";

    /** Adds (or replaces) the check called {@code name}. */
    public void register(String name, Supplier<Optional<String>> check) {
        order.putIfAbsent(name, order.size());
        checks.put(name, check);
    }

    /**
     * Adds (or replaces) a check of a part that can be short of something while the relay still runs (free space on
     * the spool's file system): when it answers with a reason, {@code /health} says {@code degraded} with that reason,
     * still with 200, since a restart would not help.
     */
    public void registerDegradation(String name, Supplier<Optional<String>> check) {
        degradations.put(name, check);
    }

    /** The reasons of every degradation check that answers one, as {@code name: reason}; empty when none does. */
    public Optional<String> degraded() {
        StringBuilder b = new StringBuilder();
        degradations.keySet().stream()
                .sorted()
                .forEach(
                        name -> {
                            Optional<String> r;
                            try {
                                r = degradations.get(name).get();
                            } catch (RuntimeException e) {
                                r = Optional.of("check failed: " + e);
                            }
                            r.ifPresent(
                                    reason ->
                                            b.append(b.length() == 0 ? "" : "; ")
                                                    .append(name)
                                                    .append(": ")
                                                    .append(reason));
                        });
        return b.length() == 0 ? Optional.empty() : Optional.of(b.toString());
    }

    /** Marks the relay ready to take traffic ({@code GET /ready} answers 200). */
    public void ready() {
        notReady = "";
    }

    /** Marks the relay not ready, e.g. while it drains on shutdown; {@code reason} is shown. */
    public void notReady(String reason) {
        notReady = reason.isEmpty() ? "not ready" : reason;
    }

    /** The reason the relay is not ready, when it is not. */
    public Optional<String> readiness() {
        String r = notReady;
        return r.isEmpty() ? Optional.empty() : Optional.of(r);
    }

    /** Every check's result in registration order: empty when up, else the reason. */
    public Map<String, Optional<String>> run() {
        Map<String, Optional<String>> out = new LinkedHashMap<>();
        checks.keySet().stream()
                .sorted((a, b) -> Integer.compare(order.get(a), order.get(b)))
                .forEach(
                        name -> {
                            Optional<String> r;
                            try {
                                r = checks.get(name).get();
                            } catch (RuntimeException e) {
                                r = Optional.of("check failed: " + Problems.describe(e));
                            }
                            out.put(name, r);
                        });
        return out;
    }

    /** The problems of every check that is down, as {@code name: reason}; empty when all are up. */
    public Optional<String> problems() {
        StringBuilder b = new StringBuilder();
        run().forEach(
                        (name, r) ->
                                r.ifPresent(
                                        reason ->
                                                b.append(b.length() == 0 ? "" : "; ")
                                                        .append(name)
                                                        .append(": ")
                                                        .append(reason)));
        return b.length() == 0 ? Optional.empty() : Optional.of(b.toString());
    }
}
