package org.tlsrelay.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@code config/tlsrelay.yaml} is the configuration reference: every key {@link RelayConfig} accepts is in it (keys of
 * list elements and map values at least in its comments, as examples), every key in it is one RelayConfig accepts,
 * it loads with the defaults it claims, and the README shows it verbatim.
 */
class ConfigReferenceTest {
    static final Path EXAMPLE = Path.of("..", "config", "tlsrelay.yaml");
    static final Path README = Path.of("..", "README.md");

    /** Every key path RelayConfig accepts: {@code server.limits.max-line-length}, {@code policy.lists[].url}. */
    static TreeSet<String> acceptedKeys() {
        TreeSet<String> out = new TreeSet<>();
        collect(RelayConfig.class, "", out);
        return out;
    }

    private static void collect(Class<?> record, String prefix, TreeSet<String> out) {
        for (RecordComponent c : record.getRecordComponents()) {
            String key = prefix + kebab(c.getName());
            out.add(key);
            Type t = c.getGenericType();
            if (isSection(c.getType())) {
                collect(c.getType(), key + ".", out);
            } else if (t instanceof ParameterizedType p
                    && p.getRawType() == List.class
                    && p.getActualTypeArguments()[0] instanceof Class<?> e
                    && isSection(e)) {
                collect(e, key + "[].", out);
            } else if (t instanceof ParameterizedType p
                    && p.getRawType() == Map.class
                    && p.getActualTypeArguments()[1] instanceof Class<?> v
                    && v.isRecord()) {
                collect(v, key + ".*.", out);
            }
        }
    }

    /**
     * A record whose components are keys: a section of RelayConfig, or a component's own settings record bound
     * from YAML (e.g. {@code policy.lists[]}); not a value parsed from one string ({@code HostPort}, {@code Network}).
     */
    private static boolean isSection(Class<?> type) {
        return type.isRecord()
                && (type.getEnclosingClass() == RelayConfig.class
                        || !type.getPackageName().equals(RelayConfig.class.getPackageName()));
    }

    static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
    }

    /** Every key path present (not commented out) in the example file. */
    static TreeSet<String> exampleKeys() throws Exception {
        JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(EXAMPLE.toFile());
        TreeSet<String> out = new TreeSet<>();
        walk(root, "", out);
        return out;
    }

    private static void walk(JsonNode node, String prefix, TreeSet<String> out) {
        node.properties()
                .forEach(
                        e -> {
                            String key = prefix + e.getKey();
                            out.add(key);
                            if (e.getValue().isObject()) {
                                walk(e.getValue(), key + ".", out);
                            }
                        });
    }

    @Test
    void everyKeyOfTheExampleIsAcceptedAndEveryAcceptedKeyIsDocumented() throws Exception {
        TreeSet<String> accepted = acceptedKeys();
        TreeSet<String> example = exampleKeys();
        TreeSet<String> unknown = new TreeSet<>(example);
        unknown.removeAll(accepted);
        assertEquals(
                new TreeSet<>(),
                unknown,
                "keys in config/tlsrelay.yaml that RelayConfig does not accept");

        String text = Files.readString(EXAMPLE, StandardCharsets.UTF_8);
        TreeSet<String> undocumented = new TreeSet<>();
        for (String key : accepted) {
            boolean inElement = key.contains("[].") || key.contains(".*.");
            String last = key.substring(key.lastIndexOf('.') + 1);
            // keys of list elements and map values can only be shown as commented examples
            if (inElement ? !text.contains(last + ":") : !example.contains(key)) {
                undocumented.add(key);
            }
        }
        assertEquals(
                new TreeSet<>(),
                undocumented,
                "keys RelayConfig accepts that config/tlsrelay.yaml does not show");
        assertTrue(
                accepted.contains("server.shutdown-grace")
                        && accepted.contains("policy.lists[].signature-url")
                        && accepted.contains("policy.overrides.*.force"),
                accepted.toString());
    }

    /** Every value the file sets is the built-in default: the file is a reference, not an example to copy blindly. */
    @Test
    void theExampleShowsTheDefaults() throws Exception {
        RelayConfig example = ConfigLoader.load(EXAMPLE);
        RelayConfig defaults = RelayConfig.defaults();
        assertEquals(defaults.spool().dir().normalize(), example.spool().dir().normalize());
        assertEquals(defaults.spool().minFree(), example.spool().minFree());
        assertEquals(
                defaults,
                new RelayConfig(
                        example.server(),
                        defaults.spool(), // ./data/spool and data/spool: the same directory
                        example.delivery(),
                        example.dns(),
                        example.dane(),
                        example.policy(),
                        example.reports(),
                        example.admin(),
                        example.dkim(),
                        example.cluster()));
    }

    @Test
    void theReadmeShowsTheExampleVerbatim() throws Exception {
        String readme = Files.readString(README, StandardCharsets.UTF_8);
        String begin = "<!-- config/tlsrelay.yaml begin -->\n```yaml\n";
        String end = "```\n<!-- config/tlsrelay.yaml end -->";
        int b = readme.indexOf(begin);
        int e = readme.indexOf(end);
        assertTrue(b >= 0 && e > b, "README.md has no configuration reference block");
        assertEquals(
                Files.readString(EXAMPLE, StandardCharsets.UTF_8),
                readme.substring(b + begin.length(), e),
                "README.md's configuration reference differs from config/tlsrelay.yaml: copy the file between the "
                        + "markers");
    }
}
