package org.tlsrelay.core.config;

/**
 * A value that a configuration record refuses, naming its key: the loader reports it on the line of that key, also
 * inside a list ({@code tlsrelay.yaml:9: dkim.keys.private-key: ...}). A plain {@link IllegalArgumentException} is
 * placed on the line where its record ends.
 */
public final class InvalidValue extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final String key;

    /**
     * @param key the YAML key within the record, e.g. {@code private-key}
     * @param message what is wrong and what to do
     */
    public InvalidValue(String key, String message) {
        super(message);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
