package org.tlsrelay.core.policy.resolve;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.list.ListedPolicy;
import org.tlsrelay.core.policy.list.PolicyLists;

/** {@link PolicyLists} over lists held in memory, in configured order, honouring each list's expiry. */
final class FakePolicyLists implements PolicyLists {
    private record FakeList(String name, Instant expires, Map<String, Policy> policies) {}

    private final List<FakeList> lists = new ArrayList<>();

    FakePolicyLists add(String name, Instant expires, Map<String, Policy> policies) {
        lists.add(new FakeList(name, expires, policies));
        return this;
    }

    @Override
    public Optional<ListedPolicy> find(String domain, Instant now) {
        for (FakeList l : lists) {
            Policy p = l.policies().get(domain);
            if (p != null && now.isBefore(l.expires())) {
                return Optional.of(new ListedPolicy(l.name(), domain, p, l.expires()));
            }
        }
        return Optional.empty();
    }
}
