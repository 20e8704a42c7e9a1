package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.internal.server.BaseCommand;
import org.subethamail.smtp.server.Session;

/**
 * One of our SMTP commands, in place of SubEthaSMTP's: checks the verb and the line length, then runs the command
 * with the session's state.
 */
abstract class InboundCommand extends BaseCommand {
    final CommandContext server;

    InboundCommand(CommandContext server, String name, String help) {
        super(name, help);
        this.server = server;
    }

    @Override
    public final void execute(String line, Session session)
            throws IOException, DropConnectionException {
        // SubEthaSMTP finds commands by their first four letters too ("DATAX" would reach
        // DATA): insist on the verb.
        String verb = verb(line);
        if (!verb.equalsIgnoreCase(getName())) {
            session.sendResponse("500 5.5.2 Error: command not recognized");
            return;
        }
        if (line.length() > server.limits().maxLineLength()) {
            session.sendResponse("500 5.5.2 Error: line too long");
            return;
        }
        handle(line.substring(verb.length()), session, server.state(session));
    }

    /** Runs the command; {@code args} is the text after the verb (with its leading space, if any). */
    abstract void handle(String args, Session session, SessionState state)
            throws IOException, DropConnectionException;

    static String verb(String line) {
        int sp = line.indexOf(' ');
        return sp < 0 ? line : line.substring(0, sp);
    }

    static Transaction transaction(Session session) {
        return (Transaction) session.getMessageHandler();
    }

    /** Sends the refusal's reply, counting it first when it counts. */
    void refuse(Session session, Refusal refusal) throws IOException {
        refusal.counted().ifPresent(server.metrics()::rejected);
        session.sendResponse(refusal.reply());
    }
}
