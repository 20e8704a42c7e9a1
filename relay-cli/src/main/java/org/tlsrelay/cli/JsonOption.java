package org.tlsrelay.cli;

import picocli.CommandLine.Option;

/**
 * {@code --json}: print JSON instead of text ({@code @Mixin JsonOption json}). Its help line is in
 * {@code Messages.properties}: {@code json} for most commands, {@code tlsrelay.COMMAND.json} where a command says
 * what its JSON is (a list, an envelope, ...).
 */
final class JsonOption {
    @Option(names = "--json", descriptionKey = "json")
    boolean on;

    boolean on() {
        return on;
    }
}
