package org.tlsrelay.core.policy.list;

import java.time.Instant;
import org.tlsrelay.core.policy.Policy;

/** A domain's policy as one list states it (aliases already followed), with the list's name and expiry. */
public record ListedPolicy(String listName, String domain, Policy policy, Instant listExpires) {}
