package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.stream.Collectors;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.mtasts.CachedPolicy;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;

/**
 * A resolved policy as the commands show it, as text and as JSON: {@code policy show} prints it, {@code policy
 * check} embeds it. One place, so that both say the same.
 */
final class ResolvedPolicyView {
    private ResolvedPolicyView() {}

    /** The {@code policy show --json} object, also {@code policy check --json}'s {@code policy}. */
    static ObjectNode json(ResolvedPolicy p) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        o.put("domain", p.domain());
        o.put("mode", p.mode().label());
        ArrayNode mx = o.putArray("mx");
        p.mxs().forEach(x -> mx.add(x.text()));
        o.put("source", p.source().label());
        o.put("list", p.listName().orElse(null));
        o.put("forced", p.forced());
        o.put("explanation", p.explanation());
        if (p.mtaSts().isPresent()) {
            CachedPolicy c = p.mtaSts().get();
            ObjectNode sts = o.putObject("mta_sts");
            sts.put("id", c.id());
            sts.put("fetched", c.fetchedAt().toString());
            sts.put("expires", c.expiresAt().toString());
            sts.put("max_age", c.policy().maxAgeSeconds());
            ArrayNode lines = sts.putArray("policy_lines");
            c.policy().lines().forEach(lines::add);
        } else {
            o.putNull("mta_sts");
        }
        o.put("failure", p.stsFailure().map(f -> f.type().resultType()).orElse(null));
        o.put("failure_detail", p.stsFailure().map(f -> f.detail()).orElse(null));
        return o;
    }

    /** The text {@code policy show} prints: one field a line. */
    static void print(PrintWriter out, ResolvedPolicy p) {
        out.println("domain:       " + p.domain());
        out.println("mode:         " + p.mode().label());
        out.println(
                "mx:           "
                        + (p.mxs().isEmpty()
                                ? "(any)"
                                : p.mxs().stream()
                                        .map(MxPattern::text)
                                        .collect(Collectors.joining(", "))));
        out.println("source:       " + p.sourceDescription());
        out.println("why:          " + p.explanation());
        p.mtaSts()
                .ifPresent(
                        c -> {
                            out.println("policy id:    " + c.id());
                            out.println("fetched:      " + c.fetchedAt());
                            out.println("expires:      " + c.expiresAt());
                        });
        p.stsFailure().ifPresent(f -> out.println("sts failure:  " + f));
    }
}
