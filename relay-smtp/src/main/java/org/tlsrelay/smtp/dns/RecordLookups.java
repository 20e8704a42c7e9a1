package org.tlsrelay.smtp.dns;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.dns.TlsaRecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * What every dnsjava-backed {@link DnsResolver} shares: which record type each look-up asks for and how dnsjava's
 * records become the relay's values. Subclasses say how one type is looked up (plain or validated) and how the A and
 * AAAA answers of a host combine.
 */
abstract class RecordLookups implements DnsResolver {

    /** Looks up {@code type} records of {@code name} and converts the answer's records. */
    abstract <T> CompletableFuture<DnsResult<T>> lookup(
            String name, int type, Function<List<Record>, T> convert);

    /** One result from a host's A and AAAA answers. */
    abstract DnsResult<List<InetAddress>> combine(
            DnsResult<List<InetAddress>> v4, DnsResult<List<InetAddress>> v6);

    @Override
    public CompletableFuture<DnsResult<List<MxRecord>>> mx(String domain) {
        return lookup(domain, Type.MX, RecordLookups::mxRecords);
    }

    @Override
    public CompletableFuture<DnsResult<List<InetAddress>>> addresses(String host) {
        CompletableFuture<DnsResult<List<InetAddress>>> v4 =
                lookup(
                        host,
                        Type.A,
                        records -> records.stream().map(r -> ((ARecord) r).getAddress()).toList());
        CompletableFuture<DnsResult<List<InetAddress>>> v6 =
                lookup(
                        host,
                        Type.AAAA,
                        records ->
                                records.stream().map(r -> ((AAAARecord) r).getAddress()).toList());
        return v4.thenCombine(v6, this::combine);
    }

    @Override
    public CompletableFuture<DnsResult<List<String>>> txt(String name) {
        return lookup(
                name,
                Type.TXT,
                records -> records.stream().map(r -> joined((TXTRecord) r)).toList());
    }

    @Override
    public CompletableFuture<DnsResult<List<TlsaRecord>>> tlsa(String name) {
        return lookup(
                name,
                Type.TLSA,
                records -> records.stream().map(r -> tlsaRecord((TLSARecord) r)).toList());
    }

    /** Both families' addresses; failing that the one found, the failure, or NXDOMAIN only when both say so. */
    static DnsResult<List<InetAddress>> families(
            DnsResult<List<InetAddress>> v4, DnsResult<List<InetAddress>> v6) {
        if (v4 instanceof DnsResult.Found<List<InetAddress>> f4
                && v6 instanceof DnsResult.Found<List<InetAddress>> f6) {
            List<InetAddress> all = new ArrayList<>(f4.value());
            all.addAll(f6.value());
            return new DnsResult.Found<>(f4.name(), f4.canonicalName(), List.copyOf(all));
        }
        if (v4.isFound()) {
            return v4;
        }
        if (v6.isFound()) {
            return v6;
        }
        if (v4.isFailed()) {
            return v4;
        }
        if (v6.isFailed()) {
            return v6;
        }
        boolean nx =
                ((DnsResult.NoRecords<List<InetAddress>>) v4).absence()
                                == DnsResult.Absence.NXDOMAIN
                        && ((DnsResult.NoRecords<List<InetAddress>>) v6).absence()
                                == DnsResult.Absence.NXDOMAIN;
        return new DnsResult.NoRecords<>(
                v4.name(), nx ? DnsResult.Absence.NXDOMAIN : DnsResult.Absence.NODATA);
    }

    static List<MxRecord> mxRecords(List<Record> records) {
        return records.stream()
                .map(r -> (MXRecord) r)
                .map(r -> new MxRecord(r.getPriority(), r.getTarget().toString()))
                .sorted(
                        Comparator.comparingInt(
                                MxRecord::preference)) // stable: equal preferences keep answer
                // order
                .toList();
    }

    static TlsaRecord tlsaRecord(TLSARecord r) {
        return new TlsaRecord(
                r.getCertificateUsage(),
                r.getSelector(),
                r.getMatchingType(),
                r.getCertificateAssociationData());
    }

    /** RFC 8461 §3.1, RFC 8460 §3: a record's character-strings are concatenated without separators. */
    static String joined(TXTRecord r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] s : r.getStringsAsByteArrays()) {
            out.writeBytes(s);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
