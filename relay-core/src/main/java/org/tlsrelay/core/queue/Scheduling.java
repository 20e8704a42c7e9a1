package org.tlsrelay.core.queue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.PrivateFiles;
import org.tlsrelay.core.io.Problems;

/**
 * How a change to the spool's files reaches the delivery schedule: in the relay's process directly
 * ({@code SpoolSchedule}), from an operator's process through the {@code SPOOL/wakeup} file that the relay watches.
 */
interface Scheduling {

    /** The message {@code id} is due at {@code at}. */
    void schedule(String id, Instant at);

    /** The message {@code id} is no longer to be delivered (held, deleted, quarantined). */
    void unschedule(String id);

    /** Messages may have become due: let the delivery engine look. */
    void wake();

    /** An operator changed the queue: the relay logs who did what ({@link OperatorAction}). */
    void operatorAction(OperatorAction action);

    /**
     * The operator's side: no schedule of its own; a wake-up writes {@code SPOOL/wakeup}, and the relay re-reads its
     * schedule from the files.
     */
    static Scheduling throughWakeupFile(SpoolFiles files) {
        Logger log = LoggerFactory.getLogger(Spool.class);
        return new Scheduling() {
            @Override
            public void schedule(String id, Instant at) {}

            @Override
            public void unschedule(String id) {}

            @Override
            public void operatorAction(OperatorAction action) {
                try {
                    action.leaveNotice(files.root());
                } catch (IOException e) {
                    log.warn(
                            "cannot tell the relay of {} {} through {}: {}",
                            action.action().label(),
                            action.id(),
                            files.root(),
                            Problems.describe(e));
                }
            }

            @Override
            public void wake() {
                Path wakeup = files.root().resolve(SpoolFiles.WAKEUP);
                try {
                    PrivateFiles.write(
                            wakeup,
                            (files.options().clock().instant() + "\n")
                                    .getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    log.warn("cannot wake the relay through {}: {}", wakeup, Problems.describe(e));
                }
            }
        };
    }
}
