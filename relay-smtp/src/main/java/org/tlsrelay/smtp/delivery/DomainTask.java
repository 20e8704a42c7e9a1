package org.tlsrelay.smtp.delivery;

import java.util.List;
import org.tlsrelay.core.queue.RecipientStatus;

/** One (message, recipient domain) attempt, waiting for or holding a connection slot. */
record DomainTask(MessageRun run, String domain, List<RecipientStatus> recipients) {
    DomainTask {
        recipients = List.copyOf(recipients);
    }
}
