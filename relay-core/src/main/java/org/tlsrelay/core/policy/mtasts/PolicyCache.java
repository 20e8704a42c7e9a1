package org.tlsrelay.core.policy.mtasts;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.io.PrivateFiles;
import org.tlsrelay.core.io.Problems;

/**
 * The MTA-STS policy cache on disk, one JSON file per domain ({@code DOMAIN.json}) in one directory beside the spool.
 * A cache that is lost on restart re-opens the first-use window that MTA-STS exists to close (RFC 8461 §10.2), so
 * every write is atomic and durable: a temporary file is written and forced to disk, then renamed over the old one.
 * Only the policy text is authoritative; it is parsed again on load, and a file that no longer parses is ignored.
 */
public final class PolicyCache {
    private static final Logger log = LoggerFactory.getLogger(PolicyCache.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SUFFIX = ".json";

    private final Path dir;

    public PolicyCache(Path dir) {
        this.dir = dir;
    }

    public Path directory() {
        return dir;
    }

    /** Every readable cached policy, by domain, expired ones included (the caller decides). */
    public Map<String, CachedPolicy> loadAll() throws IOException {
        Map<String, CachedPolicy> all = new HashMap<>();
        if (!Files.isDirectory(dir)) {
            return all;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String domain = name.substring(0, name.length() - SUFFIX.length());
                if (!DnsNames.isValid(domain)) {
                    continue;
                }
                try {
                    CachedPolicy p = read(file, domain);
                    all.put(p.domain(), p);
                } catch (IOException | RuntimeException e) {
                    log.warn("MTA-STS cache file {} ignored: {}", file, Problems.describe(e));
                }
            }
        }
        return all;
    }

    /** Writes (or replaces) the cached policy of its domain, atomically and durably. */
    public void store(CachedPolicy p) throws IOException {
        Path file = fileOf(p.domain());
        PrivateFiles.createDirectories(dir);
        PrivateFiles.replace(file, toJson(p));
    }

    /** A cached policy as stored: its file's content, also the form a cluster shares it in. */
    public static byte[] toJson(CachedPolicy p) throws IOException {
        ObjectNode json = JSON.createObjectNode();
        json.put("domain", p.domain());
        json.put("id", p.id());
        json.put("fetched", p.fetchedAt().toString());
        json.put("max_age", p.policy().maxAgeSeconds());
        json.put("expires", p.expiresAt().toString());
        json.put("policy", p.policy().text());
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(json);
    }

    /**
     * Reads back what {@link #toJson} wrote for {@code domain}, validating it as the cache's own files are: the policy
     * text must parse as a valid policy (RFC 8461 §3.2), the domain must be the expected one and the id a valid TXT
     * {@code id} (§3.1).
     *
     * @throws IOException naming what is wrong
     */
    public static CachedPolicy fromJson(byte[] bytes, String domain) throws IOException {
        if (!DnsNames.isValid(domain)) {
            throw new IOException("\"" + domain + "\" is not a domain name");
        }
        JsonNode json;
        try {
            json = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new IOException("not a cached policy: not valid JSON");
        }
        try {
            return parse(json, DnsNames.normalise(domain));
        } catch (RuntimeException e) {
            throw new IOException(Problems.describe(e), e);
        }
    }

    /** Removes a domain's cached policy, if any. */
    public void delete(String domain) throws IOException {
        Files.deleteIfExists(fileOf(domain));
        forceDirectory();
    }

    private Path fileOf(String domain) {
        // The name comes from mail (a recipient domain): only a valid DNS name may become a file
        // name.
        return dir.resolve(DnsNames.requireValid(domain) + SUFFIX);
    }

    private static CachedPolicy read(Path file, String domain) throws IOException {
        return parse(JSON.readTree(file.toFile()), domain);
    }

    private static CachedPolicy parse(JsonNode json, String domain) throws IOException {
        if (json == null || !json.isObject()) {
            throw new IOException("not a JSON object");
        }
        String id = text(json, "id");
        if (!id.matches("[A-Za-z0-9]{1,32}")) { // RFC 8461 §3.1: id = 1*32(ALPHA / DIGIT)
            throw new IOException("\"" + id + "\" is not a policy id");
        }
        Instant fetched = Instant.parse(text(json, "fetched"));
        PolicyParse parsed = PolicyParser.parse(text(json, "policy"));
        MtaStsPolicy policy =
                parsed.policy()
                        .orElseThrow(
                                () ->
                                        new IOException(
                                                "the stored policy is not valid: "
                                                        + parsed.errors()));
        if (!domain.equals(DnsNames.normalise(text(json, "domain")))) {
            throw new IOException("it names another domain");
        }
        return new CachedPolicy(domain, id, policy, fetched);
    }

    private static String text(JsonNode json, String field) throws IOException {
        JsonNode n = json.get(field);
        if (n == null || !n.isTextual()) {
            throw new IOException("\"" + field + "\" is missing");
        }
        return n.asText();
    }

    /** Makes the rename itself durable (a directory fsync; not every platform allows it, so failure is ignored). */
    private void forceDirectory() {
        try {
            PrivateFiles.syncDirectory(dir);
        } catch (IOException | UnsupportedOperationException e) {
            // e.g. Windows: the rename is as durable as the platform makes it
        }
    }

    /** For tests: whether a file exists for the domain. */
    boolean exists(String domain) {
        try {
            return Files.exists(fileOf(domain));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
