package org.tlsrelay.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import java.net.URL;
import java.util.Locale;
import org.slf4j.LoggerFactory;

/**
 * {@code --log-format text|json}: which of the two appenders of the relay's {@code logback.xml} the root logger uses.
 * Logback is already configured when options are parsed (loggers are made as the command classes load), so the
 * choice re-reads the same file with the format as a context property; the file's default comes from
 * {@code $TLSRELAY_LOG_FORMAT}, which a container can set instead.
 */
enum LogFormat {
    TEXT,
    JSON;

    static final String ENV = "TLSRELAY_LOG_FORMAT";

    static LogFormat parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "text" -> TEXT;
            case "json" -> JSON;
            default ->
                    throw new UsageException("--log-format: \"" + text + "\" is not text or json");
        };
    }

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Reconfigures logback from the relay's {@code logback.xml} with this format; a no-op under another backend. */
    void apply() {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return;
        }
        URL config = LogFormat.class.getResource("/logback.xml");
        if (config == null) {
            return;
        }
        ctx.reset();
        ctx.putProperty(ENV, label());
        JoranConfigurator joran = new JoranConfigurator();
        joran.setContext(ctx);
        try {
            joran.doConfigure(config);
        } catch (JoranException e) {
            throw new IllegalStateException("cannot configure logging from " + config, e);
        }
    }
}
