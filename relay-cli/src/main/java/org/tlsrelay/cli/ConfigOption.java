package org.tlsrelay.cli;

import java.nio.file.Path;
import java.util.Optional;
import org.tlsrelay.core.config.ConfigException;
import org.tlsrelay.core.config.ConfigLoader;
import org.tlsrelay.core.config.RelayConfig;
import picocli.CommandLine.Option;

/** {@code --config FILE}, shared by every subcommand that needs the configuration. */
public final class ConfigOption {
    static final String ENV = "TLSRELAY_CONFIG";

    @Option(
            names = {"-c", "--config"},
            paramLabel = "FILE",
            description =
                    "Configuration file (YAML). Default: $"
                            + ENV
                            + " if set, else the built-in defaults.")
    Path file;

    /** The file in use, if any. */
    public Optional<Path> file() {
        if (file != null) {
            return Optional.of(file);
        }
        String env = System.getenv(ENV);
        return env == null || env.isBlank() ? Optional.empty() : Optional.of(Path.of(env));
    }

    /** Loads and validates the configuration; every problem is in the exception. */
    public RelayConfig load() throws ConfigException {
        Optional<Path> f = file();
        return f.isPresent() ? ConfigLoader.load(f.get()) : RelayConfig.defaults();
    }
}
