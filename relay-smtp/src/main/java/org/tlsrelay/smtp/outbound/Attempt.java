package org.tlsrelay.smtp.outbound;

import org.tlsrelay.core.enforce.Admission;
import org.tlsrelay.core.enforce.MxPolicy;

/**
 * What one call of the outbound client is doing, for its result and its log line: the target, the permit it runs
 * under, and how far it got. Its fields are written by the steps of one attempt, which run one after another.
 */
final class Attempt {
    final DeliveryTarget target;
    final String queueId;
    final Admission.Connect permit;
    final MxPolicy policy;
    volatile Stage stage = Stage.CONNECT;
    volatile String tls = "-";
    volatile String verdict = "-";
    volatile boolean reused;

    /** On a reused connection: whether the MX answered our RSET, i.e. the connection was still alive. */
    volatile boolean rsetAnswered;

    Attempt(DeliveryTarget target, String queueId, Admission.Connect permit) {
        this.target = target;
        this.queueId = queueId;
        this.permit = permit;
        this.policy = permit.policy();
    }
}
