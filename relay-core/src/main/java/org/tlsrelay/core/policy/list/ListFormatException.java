package org.tlsrelay.core.policy.list;

import java.util.List;

/** A policy list that does not follow the v0.1 format; {@link #problems()} names every error with its JSON path. */
public final class ListFormatException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient List<ListProblem> problems;

    public ListFormatException(List<ListProblem> problems) {
        super(summary(problems));
        this.problems = List.copyOf(problems);
    }

    public List<ListProblem> problems() {
        return problems;
    }

    private static String summary(List<ListProblem> problems) {
        if (problems.isEmpty()) {
            return "not a valid policy list";
        }
        String first = problems.get(0).toString();
        return problems.size() == 1 ? first : first + " (and " + (problems.size() - 1) + " more)";
    }
}
