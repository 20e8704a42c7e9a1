package org.tlsrelay.smtp.inbound;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.internal.server.BaseCommand;
import org.subethamail.smtp.server.Session;

/**
 * One of our SMTP commands, in place of SubEthaSMTP's: checks that the session goes on, the verb and the line length,
 * then runs the command with the session's state. A client that goes away during a command ends the session quietly.
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
        SessionState state = server.state(session);
        if (state.guard.closed()) {
            // Pipelined after the reply that ended the session (421, 221): never run.
            session.quit();
            return;
        }
        // SubEthaSMTP finds commands by their first four letters too ("DATAX" would reach
        // DATA): insist on the verb.
        String verb = verb(line);
        if (!verb.equalsIgnoreCase(getName())) {
            session.sendResponse("500 5.5.2 Error: command not recognized");
            return;
        }
        state.guard.command(getName());
        if (line.length() > server.limits().maxLineLength()) {
            session.sendResponse(Replies.LINE_TOO_LONG);
            return;
        }
        try {
            handle(line.substring(verb.length()), session, state);
        } catch (SocketException | EOFException e) {
            // The client went away in the middle of the command (an AUTH exchange, DATA); the
            // guard has said so in the log, once. Not an I/O error for SubEthaSMTP to report.
            session.quit();
        }
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
