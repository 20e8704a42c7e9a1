package org.tlsrelay.core.config;

import java.util.List;

/** The configuration file cannot be used; {@link #problems()} lists every error found, each naming file, line and key. */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient List<String> problems;

    public ConfigException(List<String> problems) {
        super(String.join("\n", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
