package org.tlsrelay.cli;

import picocli.CommandLine.Mixin;

/** A command made of subcommands ({@code tlsrelay queue}, {@code tlsrelay policy}, ...): alone, it prints its usage. */
abstract class CommandGroup implements Runnable {
    @Mixin Output output;

    @Override
    public void run() {
        output.usage();
    }
}
