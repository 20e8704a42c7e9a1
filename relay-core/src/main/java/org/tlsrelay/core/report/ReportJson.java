package org.tlsrelay.core.report;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/** RFC 8460 report JSON (§4.4) and its gzip form (§5.2), written and read with Jackson. */
public final class ReportJson {
    /** §5.3, §5.4: the media type of a gzip-compressed report. */
    public static final String GZIP_MEDIA_TYPE = "application/tlsrpt+gzip";

    /** §6.4: the media type of a plain report. */
    public static final String JSON_MEDIA_TYPE = "application/tlsrpt+json";

    /** A report larger than this when unzipped is not read back (a report from a hostile peer, or a bug). */
    static final int MAX_REPORT_BYTES = 64 * 1024 * 1024;

    private static final ObjectMapper MAPPER =
            JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

    private ReportJson() {}

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** The report as compact UTF-8 JSON (I-JSON, RFC 7493, as §4.4 requires). */
    public static byte[] toJson(TlsReport report) {
        try {
            return MAPPER.writeValueAsBytes(report);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The report as indented JSON, for people. */
    public static String toPrettyJson(TlsReport report) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The report's JSON, gzip-compressed (§5.2). */
    public static byte[] toGzip(TlsReport report) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(toJson(report));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static TlsReport parse(byte[] json) throws IOException {
        TlsReport r = MAPPER.readValue(json, TlsReport.class);
        if (r == null) {
            throw new IOException("empty report");
        }
        return r;
    }

    /** Reads a gzip-compressed report, refusing one that unzips to more than 64 MB. */
    public static TlsReport parseGzip(byte[] gzip) throws IOException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzip))) {
            byte[] json = in.readNBytes(MAX_REPORT_BYTES + 1);
            if (json.length > MAX_REPORT_BYTES) {
                throw new IOException(
                        "the report unzips to more than " + MAX_REPORT_BYTES + " bytes");
            }
            return parse(json);
        }
    }
}
