package org.tlsrelay.core.dkim;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.tlsrelay.core.queue.Spool;

/**
 * Signs one accepted message on its way into the spool, in one pass and without holding the body:
 *
 * <ol>
 *   <li>the header section is held in memory (at most {@value #MAX_HEADER} octets) until the empty line that ends
 *       it; then the keys are chosen from its From field;</li>
 *   <li>a placeholder {@code DKIM-Signature} field per key, of exactly the final length ({@link SignatureHeader}), is
 *       written to the spool file, then the header section;</li>
 *   <li>the body streams on into the spool while its relaxed hash is computed;</li>
 *   <li>at the end, each placeholder is overwritten in place with the signed field, before the spool commits the
 *       file (fsync) and the client gets its 250.</li>
 * </ol>
 * So the spool writes each octet once and memory holds the header section only, whatever the body's size. A message
 * that cannot be signed passes through unchanged, logged with its queue id and counted.
 */
final class SigningPass extends OutputStream implements AcceptSigner.Pass {
    /** Header sections larger than this are not signed (and not held): 1 MB covers any real mail. */
    static final int MAX_HEADER = 1024 * 1024;

    private enum State {
        HEADER,
        BODY,
        PASS
    }

    private record Placed(SignatureHeader signature, long position, int length) {}

    private final DkimSigner signer;
    private final Spool.Reception reception;
    private final OutputStream spool;
    private final ByteArrayOutputStream header = new ByteArrayOutputStream(4096);
    private State state = State.HEADER;
    private boolean cr;
    private int lineLength;
    private RelaxedBodyHash body;
    private List<HeaderField> fields = List.of();
    private final List<Placed> placed = new ArrayList<>();

    SigningPass(DkimSigner signer, Spool.Reception reception) {
        this.signer = signer;
        this.reception = reception;
        this.spool = reception.body();
    }

    @Override
    public OutputStream content() {
        return this;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        switch (state) {
            case BODY -> {
                spool.write(b, off, len);
                body.write(b, off, len);
            }
            case PASS -> spool.write(b, off, len);
            case HEADER -> {
                int end = headerEnd(b, off, len);
                int n = end < 0 ? len : end - off;
                header.write(b, off, n);
                if (end >= 0) {
                    startBody();
                    write(b, end, off + len - end);
                } else if (header.size() > MAX_HEADER) {
                    giveUp(Unsignable.HEADER_TOO_LARGE, "more than " + MAX_HEADER + " octets");
                }
            }
        }
    }

    /** Where in {@code b} the header section ends (just after the CRLF of its empty line), or -1 if not there. */
    private int headerEnd(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            byte c = b[i];
            if (cr) {
                cr = false;
                if (c == '\n') {
                    if (lineLength == 0) {
                        return i + 1;
                    }
                    lineLength = 0;
                    continue;
                }
                lineLength++; // a CR that ends nothing
            }
            if (c == '\r') {
                cr = true;
            } else {
                lineLength++;
            }
        }
        return -1;
    }

    /** The header section is complete (its empty line included): decide, reserve the signatures' room, go on. */
    private void startBody() throws IOException {
        byte[] h = header.toByteArray();
        place(h, h.length - 2);
    }

    private void place(byte[] h, int fieldsLength) throws IOException {
        DkimSigner.Decision d = signer.decide(h, fieldsLength, Optional.empty());
        if (d instanceof DkimSigner.Decision.Sign sign) {
            fields = sign.fields();
            for (SignatureHeader s : sign.signatures()) {
                byte[] room = s.placeholder().getBytes(StandardCharsets.US_ASCII);
                placed.add(new Placed(s, reception.written(), room.length));
                spool.write(room);
            }
            body = new RelaxedBodyHash();
            state = State.BODY;
        } else {
            if (d instanceof DkimSigner.Decision.Fail f) {
                unsignable(f.why(), f.detail());
            } else if (d instanceof DkimSigner.Decision.Skip s) {
                DkimSigner.LOG.debug("queue {}: not DKIM-signed: {}", reception.id(), s.why());
            }
            state = State.PASS;
        }
        spool.write(h);
        header.reset();
    }

    private void giveUp(Unsignable why, String detail) throws IOException {
        unsignable(why, detail);
        state = State.PASS;
        header.writeTo(spool);
        header.reset();
    }

    private void unsignable(Unsignable why, String detail) {
        signer.failed(why);
        DkimSigner.LOG.warn(
                "queue {}: relayed unsigned: not DKIM-signed because {}{}",
                reception.id(),
                why.why(),
                DkimSigner.detail(detail));
    }

    @Override
    public void finish() throws IOException {
        if (state == State.HEADER) {
            // No empty line: the whole message is its header section, and the body is empty.
            byte[] h = header.toByteArray();
            place(h, h.length);
        }
        if (placed.isEmpty()) {
            return;
        }
        byte[] bh = body.digest();
        for (Placed p : placed) {
            byte[] field;
            try {
                field =
                        DkimSigner.complete(p.signature(), fields, bh)
                                .getBytes(StandardCharsets.US_ASCII);
            } catch (GeneralSecurityException | RuntimeException e) {
                signer.failed(Unsignable.ERROR);
                throw new IOException(
                        "queue "
                                + reception.id()
                                + ": DKIM signing with "
                                + p.signature().key()
                                + " failed: "
                                + e.getMessage(),
                        e);
            }
            if (field.length != p.length()) {
                signer.failed(Unsignable.ERROR);
                throw new IOException(
                        "queue "
                                + reception.id()
                                + ": the DKIM-Signature of "
                                + p.signature().key()
                                + " has "
                                + field.length
                                + " octets, its room "
                                + p.length());
            }
            reception.overwrite(p.position(), field);
        }
        placed.forEach(p -> signer.signed(p.signature().key()));
        if (DkimSigner.LOG.isDebugEnabled()) {
            DkimSigner.LOG.debug(
                    "queue {}: DKIM-signed with {}",
                    reception.id(),
                    placed.stream().map(p -> p.signature().key().toString()).toList());
        }
    }
}
