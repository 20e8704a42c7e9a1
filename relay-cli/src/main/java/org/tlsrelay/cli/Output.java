package org.tlsrelay.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * What every command shares for what it prints ({@code @Mixin Output output}): the command line's standard output
 * and error (so that {@link Main#execute} and the tests see them), JSON written one way (one pretty-printed
 * document), and an error as the one line {@code tlsrelay: what is wrong} with the exit status that goes with it.
 * What a command does not handle itself ends in {@link Main}'s handler, in the same form.
 */
@Command // a mixin with only a @Spec needs this mark
final class Output {
    /** Created on first use: Jackson stays unloaded for the commands that print no JSON (start-up time). */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    PrintWriter out() {
        return command.commandLine().getOut();
    }

    PrintWriter err() {
        return command.commandLine().getErr();
    }

    /** Prints {@code document} pretty-printed, then a line end, and flushes. */
    void json(JsonNode document) throws JsonProcessingException {
        out().println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(document));
        out().flush();
    }

    /** Prints {@code tlsrelay: message} on standard error and returns {@code status}, the command's exit status. */
    int error(int status, String message) {
        err().println("tlsrelay: " + message);
        err().flush();
        return status;
    }

    /** The command's usage, on standard output: what a command group does without a subcommand. */
    void usage() {
        command.commandLine().usage(out());
    }
}
