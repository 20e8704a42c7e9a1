package org.tlsrelay.core.policy.list;

/**
 * One thing wrong with a policy list, located by a JSON path such as {@code $.policies["example.com"].mxs[2]}
 * (field names after a dot, domain and alias names in brackets).
 */
public record ListProblem(String path, String message) {

    @Override
    public String toString() {
        return path + ": " + message;
    }
}
