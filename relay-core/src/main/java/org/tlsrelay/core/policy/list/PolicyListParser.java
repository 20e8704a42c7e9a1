package org.tlsrelay.core.policy.list;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * Strict parser for the STARTTLS-Everywhere policy list format v0.1 (EFF's {@code policy.json}, RULES.md). Every
 * problem is collected with its JSON path, so that {@code policy-list lint} can show them all at once.
 *
 * <p>Strict means: unknown fields, duplicate keys (also case variants of one domain), trailing data, a missing or
 * malformed required field, an alias that points at another alias or a policy that points at a missing alias are
 * errors. RULES.md's optional {@code pinsets}/{@code pin}/{@code report}/{@code mta-sts} fields are refused too:
 * silently ignoring a pin would weaken what the publisher asked for.
 */
public final class PolicyListParser {
    /** The only format version this parser knows. */
    public static final String VERSION = "0.1";

    private static final ObjectMapper MAPPER =
            JsonMapper.builder()
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                    .build();

    private static final Set<String> TOP_LEVEL =
            Set.of("timestamp", "expires", "version", "author", "policy-aliases", "policies");
    private static final Set<String> POLICY_FIELDS = Set.of("mode", "mxs");

    /** RFC 3339 §5.6 date-time; seconds are required, the offset too. */
    private static final Pattern RFC3339 =
            Pattern.compile(
                    "\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?([Zz]|[+-]\\d{2}:\\d{2})");

    private static final Pattern LABEL = Pattern.compile("[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?");

    private final List<ListProblem> problems = new ArrayList<>();

    private PolicyListParser() {}

    /** Parses {@code json} (UTF-8); throws with every problem found. */
    public static PolicyListDocument parse(byte[] json) throws ListFormatException {
        return new PolicyListParser().document(json);
    }

    private PolicyListDocument document(byte[] json) throws ListFormatException {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            String where =
                    e.getLocation() == null
                            ? ""
                            : " (line "
                                    + e.getLocation().getLineNr()
                                    + ", column "
                                    + e.getLocation().getColumnNr()
                                    + ")";
            throw new ListFormatException(
                    List.of(new ListProblem(syntaxPath(e), e.getOriginalMessage() + where)));
        } catch (IOException e) {
            throw new ListFormatException(
                    List.of(new ListProblem("$", "cannot read: " + e.getMessage())));
        }
        if (root == null || root.isMissingNode()) {
            throw new ListFormatException(List.of(new ListProblem("$", "empty document")));
        }
        if (!root.isObject()) {
            throw new ListFormatException(
                    List.of(new ListProblem("$", "must be a JSON object, not " + kind(root))));
        }
        unknownFields(
                root,
                "$",
                TOP_LEVEL,
                "timestamp, expires, version, author, policy-aliases, policies");

        Instant timestamp = instant(root, "timestamp");
        Instant expires = instant(root, "expires");
        List<String> warnings = new ArrayList<>();
        if (timestamp != null && expires != null && !expires.isAfter(timestamp)) {
            // RULES.md does not order the two (EFF's own example list has them equal): such a list
            // is valid and simply expired
            warnings.add(
                    "$.expires: "
                            + expires
                            + " is not later than timestamp "
                            + timestamp
                            + ": the list is expired from the start");
        }
        String version = requiredText(root, "version", "$.version");
        if (version != null && !version.equals(VERSION)) {
            problem("$.version", "\"" + version + "\" is not supported (only \"" + VERSION + "\")");
        }
        String author = null;
        if (root.has("author")) {
            author = text(root.get("author"), "$.author");
        }
        Map<String, Policy> aliases = aliases(root.get("policy-aliases"));
        Map<String, ListEntry> entries = policies(root.get("policies"), aliases);

        if (!problems.isEmpty()) {
            throw new ListFormatException(problems);
        }
        return new PolicyListDocument(
                timestamp, expires, version, author, aliases, entries, warnings);
    }

    // ---- top level ----

    /** RULES.md: "epoch seconds ... or a string"; the string must be RFC 3339 with an offset. */
    private Instant instant(JsonNode root, String field) {
        String path = "$." + field;
        JsonNode node = root.get(field);
        if (node == null) {
            problem(path, "is required");
            return null;
        }
        if (node.isIntegralNumber()) {
            if (!node.canConvertToLong() || node.longValue() < 0) {
                problem(path, node + " is not a valid number of epoch seconds");
                return null;
            }
            try {
                return Instant.ofEpochSecond(node.longValue());
            } catch (DateTimeException e) {
                problem(path, node + " is out of range");
                return null;
            }
        }
        if (node.isNumber()) {
            problem(path, node + " is not a whole number of epoch seconds");
            return null;
        }
        if (!node.isTextual()) {
            problem(
                    path,
                    "must be an RFC 3339 date-time string or epoch seconds, not " + kind(node));
            return null;
        }
        String text = node.textValue();
        if (!RFC3339.matcher(text).matches()) {
            problem(
                    path,
                    quote(text)
                            + " is not an RFC 3339 date-time with offset (e.g. 2020-05-20T10:25:12.710034-07:00)");
            return null;
        }
        try {
            return OffsetDateTime.parse(text.toUpperCase(Locale.ROOT)).toInstant();
        } catch (DateTimeException e) {
            problem(path, quote(text) + " is not a valid date-time: " + e.getMessage());
            return null;
        }
    }

    private Map<String, Policy> aliases(JsonNode node) {
        Map<String, Policy> aliases = new LinkedHashMap<>();
        if (node == null) {
            return aliases;
        }
        if (!node.isObject()) {
            problem("$.policy-aliases", "must be an object, not " + kind(node));
            return aliases;
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String path = "$.policy-aliases" + key(e.getKey());
            if (e.getKey().isEmpty()) {
                problem(path, "an alias name must not be empty");
                continue;
            }
            JsonNode value = e.getValue();
            if (value.isObject() && value.has("policy-alias")) {
                JsonNode target = value.get("policy-alias");
                problem(
                        path + ".policy-alias",
                        "an alias cannot point at another alias"
                                + (target.isTextual() ? " (" + quote(target.textValue()) + ")" : "")
                                + "; give mode and mxs here");
                continue;
            }
            Policy p = inlinePolicy(value, path);
            if (p != null) {
                aliases.put(e.getKey(), p);
            }
        }
        return aliases;
    }

    private Map<String, ListEntry> policies(JsonNode node, Map<String, Policy> aliases) {
        Map<String, ListEntry> entries = new LinkedHashMap<>();
        if (node == null) {
            problem("$.policies", "is required");
            return entries;
        }
        if (!node.isObject()) {
            problem("$.policies", "must be an object, not " + kind(node));
            return entries;
        }
        Map<String, String> spelling = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String path = "$.policies" + key(e.getKey());
            String domain = domain(e.getKey(), path);
            if (domain != null && spelling.containsKey(domain)) {
                problem(
                        path,
                        "same domain as "
                                + quote(spelling.get(domain))
                                + " (domain names are case-insensitive)");
                domain = null;
            } else if (domain != null) {
                spelling.put(domain, e.getKey());
            }
            ListEntry entry = entry(domain == null ? "" : domain, e.getValue(), path, aliases);
            if (domain != null && entry != null) {
                entries.put(domain, entry);
            }
        }
        return entries;
    }

    private ListEntry entry(
            String domain, JsonNode value, String path, Map<String, Policy> aliases) {
        if (value.isObject() && value.has("policy-alias")) {
            boolean alone = true;
            for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!name.equals("policy-alias")) {
                    problem(
                            path + "." + name,
                            "not allowed beside policy-alias (an entry is either an alias "
                                    + "reference or mode and mxs)");
                    alone = false;
                }
            }
            String alias = text(value.get("policy-alias"), path + ".policy-alias");
            if (alias == null) {
                return null;
            }
            Policy p = aliases.get(alias);
            if (p == null) {
                problem(
                        path + ".policy-alias",
                        "no alias " + quote(alias) + " in $.policy-aliases");
                return null;
            }
            return alone ? new ListEntry.Aliased(domain, alias, p) : null;
        }
        Policy p = inlinePolicy(value, path);
        return p == null ? null : new ListEntry.Inline(domain, p);
    }

    // ---- one policy ----

    private Policy inlinePolicy(JsonNode node, String path) {
        if (!node.isObject()) {
            problem(
                    path,
                    "must be an object ({\"mode\": ..., \"mxs\": [...]} or {\"policy-alias\": ...}), not "
                            + kind(node));
            return null;
        }
        int before = problems.size();
        unknownFields(node, path, POLICY_FIELDS, "mode, mxs, policy-alias");
        PolicyMode mode = null;
        String modeText = requiredText(node, "mode", path + ".mode");
        if (modeText != null) {
            mode = PolicyMode.parse(modeText).filter(m -> m != PolicyMode.NONE).orElse(null);
            if (mode == null) {
                problem(path + ".mode", quote(modeText) + " is not a mode (enforce or testing)");
            }
        }
        List<MxPattern> mxs = mxs(node.get("mxs"), path + ".mxs");
        return problems.size() == before && mode != null ? new Policy(mode, mxs) : null;
    }

    private List<MxPattern> mxs(JsonNode node, String path) {
        List<MxPattern> mxs = new ArrayList<>();
        if (node == null) {
            problem(path, "is required");
            return mxs;
        }
        if (!node.isArray()) {
            problem(path, "must be an array of host names, not " + kind(node));
            return mxs;
        }
        if (node.isEmpty()) {
            problem(path, "must name at least one MX host or .suffix");
        }
        for (int i = 0; i < node.size(); i++) {
            String p = path + "[" + i + "]";
            String text = text(node.get(i), p);
            if (text == null) {
                continue;
            }
            if (text.startsWith("*.")) {
                problem(
                        p,
                        quote(text)
                                + ": list patterns use a leading dot (."
                                + text.substring(2)
                                + "), not the MTA-STS \"*.\"");
                continue;
            }
            try {
                mxs.add(MxPattern.ofListEntry(text));
            } catch (IllegalArgumentException e) {
                problem(p, quote(text) + " is not a host name or .suffix");
            }
        }
        return mxs;
    }

    // ---- helpers ----

    private String domain(String key, String path) {
        String d = key.toLowerCase(Locale.ROOT);
        if (d.endsWith(".")) {
            d = d.substring(0, d.length() - 1);
        }
        boolean ok = !d.isEmpty() && d.length() <= 253 && d.contains(".");
        for (String label : d.split("\\.", -1)) {
            ok &= LABEL.matcher(label).matches();
        }
        if (!ok) {
            problem(
                    path,
                    "not a mail domain name (ASCII, e.g. example.com; IDNs as xn-- A-labels)");
            return null;
        }
        return d;
    }

    private String requiredText(JsonNode parent, String field, String path) {
        JsonNode node = parent.get(field);
        if (node == null) {
            problem(path, "is required");
            return null;
        }
        return text(node, path);
    }

    private String text(JsonNode node, String path) {
        if (!node.isTextual()) {
            problem(path, "must be a string, not " + kind(node));
            return null;
        }
        return node.textValue();
    }

    private void unknownFields(JsonNode object, String path, Set<String> known, String allowed) {
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                problem(path + "." + name, "unknown field (allowed: " + allowed + ")");
            }
        }
    }

    private void problem(String path, String message) {
        problems.add(new ListProblem(path, message));
    }

    /** A map key (domain or alias name) as a JSON path step: {@code ["example.com"]}. */
    static String key(String name) {
        return "[" + quote(name) + "]";
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT, POJO -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    /**
     * Where a syntax error (or a duplicate key) happened, from the parser's context: the top-level fields by name,
     * the keys below them in brackets.
     */
    private static String syntaxPath(JsonProcessingException e) {
        if (!(e.getProcessor() instanceof com.fasterxml.jackson.core.JsonParser parser)) {
            return "$";
        }
        List<String> steps = new ArrayList<>();
        for (JsonStreamContext c = parser.getParsingContext();
                c != null && !c.inRoot();
                c = c.getParent()) {
            if (c.inArray()) {
                steps.add(0, "[" + Math.max(c.getCurrentIndex(), 0) + "]");
            } else if (c.getCurrentName() != null) {
                boolean field =
                        c.getParent() != null && c.getParent().inRoot()
                                || isFieldName(c.getCurrentName());
                steps.add(0, field ? "." + c.getCurrentName() : key(c.getCurrentName()));
            }
        }
        return "$" + String.join("", steps);
    }

    private static boolean isFieldName(String name) {
        return TOP_LEVEL.contains(name)
                || POLICY_FIELDS.contains(name)
                || name.equals("policy-alias");
    }
}
