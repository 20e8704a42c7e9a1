package org.tlsrelay.core.auth;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.tlsrelay.core.config.RelayConfig;

/** The SMTP AUTH users of {@code server.auth.users}, with their parsed password hashes. */
public final class Credentials {
    /** Checked when the user does not exist, so that the reply takes as long as for a wrong password. */
    private static final class Dummy {
        static final PasswordHash HASH =
                PasswordHash.parse(PasswordHash.bcrypt("dummy".toCharArray(), 10));
    }

    private final Map<String, PasswordHash> users;

    private Credentials(Map<String, PasswordHash> users) {
        this.users = Map.copyOf(users);
    }

    /**
     * Parses every user's hash; all problems are reported together, each as
     * {@code server.auth.users: NAME: password-hash: problem}.
     */
    public static Credentials from(RelayConfig.Auth auth) {
        Map<String, PasswordHash> users = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        int i = 0;
        for (RelayConfig.User u : auth.users()) {
            String name = u.name() == null || u.name().isBlank() ? "#" + (i + 1) : u.name();
            i++;
            if (u.name() == null || u.name().isBlank()) {
                problems.add("server.auth.users: " + name + ": name is required");
                continue;
            }
            if (users.containsKey(u.name())) {
                problems.add("server.auth.users: " + name + ": listed twice");
                continue;
            }
            try {
                users.put(u.name(), PasswordHash.parse(u.passwordHash()));
            } catch (IllegalArgumentException e) {
                problems.add("server.auth.users: " + name + ": password-hash: " + e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems));
        }
        return new Credentials(users);
    }

    public static Credentials none() {
        return new Credentials(Map.of());
    }

    public boolean isEmpty() {
        return users.isEmpty();
    }

    /** The user name when {@code password} is right for {@code user}; empty otherwise. */
    public Optional<String> verify(String user, char[] password) {
        PasswordHash h = users.get(user);
        if (h == null) {
            Dummy.HASH.matches(password);
            return Optional.empty();
        }
        return h.matches(password) ? Optional.of(user) : Optional.empty();
    }
}
