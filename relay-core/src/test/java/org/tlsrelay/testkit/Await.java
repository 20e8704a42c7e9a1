package org.tlsrelay.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition with a timeout, polling: tests never sleep for a fixed time. */
public final class Await {
    private Await() {}

    /** Returns as soon as {@code condition} holds; fails with {@code what} after {@code timeout}. */
    public static void until(BooleanSupplier condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "timed out after " + timeout.toMillis() + " ms waiting for: " + what);
            }
            try {
                Thread.sleep(5); // a poll interval, not a wait for the thing itself
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for: " + what, e);
            }
        }
    }
}
