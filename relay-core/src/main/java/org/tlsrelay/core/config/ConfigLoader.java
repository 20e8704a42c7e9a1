package org.tlsrelay.core.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.queue.SpaceReserve;

/**
 * Reads {@link RelayConfig} from YAML. Unknown keys, wrong types, bad values and values a section refuses are
 * collected, not thrown one by one, so that {@code tlsrelay config check} can print them all: {@code
 * tlsrelay.yaml:14: delivery.retry.schedule: "5x" is not a duration}. A value that cannot be read stands as its
 * default while the rest is read; a section that refuses its values stands as absent. No message carries a Java type
 * name: every scalar type is read here, through the problem handler, never by Jackson's coercion (whose messages
 * read {@code Cannot coerce String value ("25x") to `java.lang.Integer` value}).
 */
public final class ConfigLoader {

    private ConfigLoader() {}

    /** Loads {@code file}; an empty file gives the defaults. */
    public static RelayConfig load(Path file) throws ConfigException {
        String name = file.toString();
        try (InputStream in = Files.newInputStream(file)) {
            return parse(in, name);
        } catch (NoSuchFileException e) {
            throw new ConfigException(List.of(name + ": no such file"));
        } catch (IOException e) {
            throw new ConfigException(List.of(name + ": cannot read: " + e.getMessage()));
        }
    }

    /** Parses YAML from {@code in}; {@code name} is used in error messages. */
    public static RelayConfig parse(InputStream in, String name)
            throws ConfigException, IOException {
        byte[] yaml = in.readAllBytes();
        List<String> problems = new ArrayList<>();
        Map<String, Integer> keyLines = keyLines(yaml);
        ObjectMapper mapper = mapper(new Collector(name, problems, keyLines));
        RelayConfig config;
        try (JsonParser parser = mapper.getFactory().createParser(yaml)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                config = RelayConfig.defaults();
            } else if (first != JsonToken.START_OBJECT) {
                problems.add(
                        name
                                + ":"
                                + parser.currentTokenLocation().getLineNr()
                                + ": the file must be a YAML mapping (server:, spool:, delivery:, ...)");
                config = null;
            } else {
                config = mapper.readValue(parser, RelayConfig.class);
            }
        } catch (JsonMappingException e) {
            // A mapping that could not be built because a value inside it was already reported is
            // no news.
            String key = path(e.getPath());
            if (!(e instanceof ValueInstantiationException)
                    || problems.stream().noneMatch(p -> p.contains(" " + key + "."))) {
                problems.add(describe(name, e, keyLines));
            }
            config = null;
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            problems.add(
                    name
                            + ":"
                            + (loc == null ? 0 : loc.getLineNr())
                            + ": not valid YAML: "
                            + e.getOriginalMessage());
            config = null;
        }
        if (!problems.isEmpty()) {
            problems.sort(Comparator.comparingInt(ConfigLoader::lineOf));
            throw new ConfigException(problems);
        }
        return config;
    }

    /**
     * Where {@code key} (e.g. {@code server.tls.certificate}) is set in {@code file}, as {@code file:line}, or of its
     * closest section that is; {@code file} alone when neither is (the value is a default). For problems found after
     * loading, in the loader's own form.
     */
    public static String locate(Path file, String key) {
        Map<String, Integer> lines;
        try {
            lines = keyLines(Files.readAllBytes(file));
        } catch (IOException e) {
            return file.toString();
        }
        for (String k = key;
                !k.isEmpty();
                k = k.contains(".") ? k.substring(0, k.lastIndexOf('.')) : "") {
            Integer line = lines.get(k);
            if (line != null) {
                return file + ":" + line;
            }
        }
        return file.toString();
    }

    /**
     * The line of every key, by path. Records are built from buffered tokens that have lost their locations,
     * so problems found there are placed by the key's path instead.
     */
    private static Map<String, Integer> keyLines(byte[] yaml) {
        Map<String, Integer> lines = new HashMap<>();
        try (JsonParser p = new YAMLFactory().createParser(yaml)) {
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (t == JsonToken.FIELD_NAME) {
                    int line = p.currentTokenLocation().getLineNr();
                    lines.putIfAbsent(path(p.getParsingContext()), line);
                    lines.putIfAbsent(indexedPath(p.getParsingContext()), line);
                }
            }
        } catch (IOException e) {
            // Malformed YAML: the real parse reports it with its location.
        }
        return lines;
    }

    private static int lineOf(String problem) {
        String[] parts = problem.split(":", 3);
        try {
            return parts.length < 3 ? 0 : Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static ObjectMapper mapper(Collector collector) {
        SimpleModule values = new SimpleModule("tlsrelay-config-values");
        values.addDeserializer(Duration.class, scalar(Duration.class, Durations::parse));
        values.addDeserializer(ByteSize.class, scalar(ByteSize.class, ByteSize::parse));
        values.addDeserializer(SpaceReserve.class, scalar(SpaceReserve.class, SpaceReserve::parse));
        values.addDeserializer(HostPort.class, scalarAt(HostPort.class, ConfigLoader::hostPort));
        values.addDeserializer(Network.class, scalar(Network.class, Network::parse));
        values.addDeserializer(URI.class, scalar(URI.class, URI::create));
        values.addDeserializer(Path.class, scalar(Path.class, Path::of));
        values.addDeserializer(RedisUrl.class, scalar(RedisUrl.class, RedisUrl::parse));
        values.addDeserializer(Integer.class, WHOLE_NUMBER);
        values.addDeserializer(Boolean.class, TRUE_OR_FALSE);
        values.addDeserializer(String.class, TEXT);
        return JsonMapper.builder(new YAMLFactory())
                .propertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .addModule(values)
                .addHandler(collector)
                .build();
    }

    /** A DNS server may leave out its port (53); an address to listen on may not. */
    private static HostPort hostPort(String text, JsonParser p) {
        return HostPort.parse(text, path(p.getParsingContext()).equals("dns.servers") ? 53 : -1);
    }

    /** A deserializer for a value written as one string; a parse failure is reported, not thrown. */
    private static <T> JsonDeserializer<T> scalar(Class<T> type, Function<String, T> parse) {
        return scalarAt(type, (text, p) -> parse.apply(text));
    }

    /** As {@link #scalar(Class, Function)}, the parse knowing where in the file it is. */
    private static <T> JsonDeserializer<T> scalarAt(
            Class<T> type, BiFunction<String, JsonParser, T> parse) {
        return new JsonDeserializer<>() {
            @Override
            public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                if (!p.currentToken().isScalarValue()) {
                    return type.cast(ctxt.handleUnexpectedToken(type, p));
                }
                String text = p.getValueAsString();
                try {
                    return parse.apply(text, p);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    return type.cast(ctxt.handleWeirdStringValue(type, text, "%s", e.getMessage()));
                }
            }
        };
    }

    /** Reads a value from the parser's current token. */
    private interface TokenReader<T> {
        T read(JsonParser p) throws IOException;
    }

    /** Whether the parser's current token is a value of the type itself. */
    private interface TokenTest {
        boolean test(JsonParser p) throws IOException;
    }

    /**
     * A value read only from tokens of its own kind: any other token (text for a number, a fraction for a whole
     * number, a list) goes to the problem handler, which reports it in words; nothing is coerced.
     */
    private static <T> JsonDeserializer<T> strict(
            Class<T> type, TokenTest own, TokenReader<T> read) {
        return new JsonDeserializer<>() {
            @Override
            public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                JsonToken t = p.currentToken();
                if (own.test(p)) {
                    return read.read(p);
                }
                if (t == JsonToken.VALUE_STRING) {
                    return type.cast(ctxt.handleWeirdStringValue(type, p.getText(), ""));
                }
                if (t.isNumeric()) {
                    return type.cast(ctxt.handleWeirdNumberValue(type, p.getNumberValue(), ""));
                }
                return type.cast(ctxt.handleUnexpectedToken(type, p));
            }
        };
    }

    /** A whole number: an integer token that fits. */
    private static final JsonDeserializer<Integer> WHOLE_NUMBER =
            strict(
                    Integer.class,
                    p ->
                            p.currentToken() == JsonToken.VALUE_NUMBER_INT
                                    && p.getNumberType() == JsonParser.NumberType.INT,
                    JsonParser::getIntValue);

    /** {@code true} or {@code false} (YAML 1.1's {@code yes}, {@code on}... arrive as booleans too). */
    private static final JsonDeserializer<Boolean> TRUE_OR_FALSE =
            strict(Boolean.class, p -> p.currentToken().isBoolean(), JsonParser::getBooleanValue);

    /** Text: any scalar as written ({@code hostname: 42} is the name "42"); a list or mapping is reported. */
    private static final JsonDeserializer<String> TEXT =
            new JsonDeserializer<>() {
                @Override
                public String deserialize(JsonParser p, DeserializationContext ctxt)
                        throws IOException {
                    if (p.currentToken().isScalarValue()) {
                        return p.getText();
                    }
                    return (String) ctxt.handleUnexpectedToken(String.class, p);
                }
            };

    /** Records each problem with its line and key path, then lets parsing go on. */
    private static final class Collector extends DeserializationProblemHandler {
        private final String name;
        private final List<String> problems;
        private final Map<String, Integer> keyLines;

        /** The key paths already reported: what follows from a bad value is not reported again. */
        private final Set<String> reported = new HashSet<>();

        Collector(String name, List<String> problems, Map<String, Integer> keyLines) {
            this.name = name;
            this.problems = problems;
            this.keyLines = keyLines;
        }

        private int line(JsonParser p) {
            int line = p.currentTokenLocation().getLineNr();
            if (line > 0) {
                return line;
            }
            return keyLines.getOrDefault(path(p.getParsingContext()), 0);
        }

        @Override
        public boolean handleUnknownProperty(
                DeserializationContext ctxt,
                JsonParser p,
                JsonDeserializer<?> deserializer,
                Object beanOrClass,
                String propertyName)
                throws IOException {
            problems.add(
                    name + ":" + line(p) + ": " + path(p.getParsingContext()) + ": unknown key");
            p.skipChildren();
            return true;
        }

        @Override
        public Object handleWeirdStringValue(
                DeserializationContext ctxt,
                Class<?> targetType,
                String valueToConvert,
                String failureMsg)
                throws IOException {
            JsonParser p = ctxt.getParser();
            String message = failureMsg;
            if (targetType.isEnum()) {
                message = "\"" + valueToConvert + "\" is not one of " + enumValues(targetType);
            } else if (failureMsg.isBlank() || !failureMsg.contains(valueToConvert)) {
                message =
                        "\""
                                + valueToConvert
                                + "\" is not "
                                + article(targetType, p)
                                + (failureMsg.isBlank() ? "" : ": " + failureMsg);
            }
            report(p, message);
            return placeholder(targetType);
        }

        @Override
        public Object handleWeirdNumberValue(
                DeserializationContext ctxt,
                Class<?> targetType,
                Number valueToConvert,
                String failureMsg)
                throws IOException {
            JsonParser p = ctxt.getParser();
            report(p, valueToConvert + " is not " + article(targetType, p));
            return placeholder(targetType);
        }

        @Override
        public Object handleUnexpectedToken(
                DeserializationContext ctxt,
                JavaType targetType,
                JsonToken t,
                JsonParser p,
                String failureMsg)
                throws IOException {
            report(
                    p,
                    "expected " + article(targetType.getRawClass(), p) + ", found " + describe(t));
            p.skipChildren();
            return placeholder(targetType.getRawClass());
        }

        /**
         * A section refused its values (its record's constructor threw): the problem goes on the line of the key it
         * names ({@link InvalidValue}) or of the section, and the section stands as absent so that reading goes on.
         * What only follows from a value reported before (a required value that could not be read) is left out.
         */
        @Override
        public Object handleInstantiationProblem(
                DeserializationContext ctxt, Class<?> instClass, Object argument, Throwable t) {
            Throwable cause =
                    t instanceof JsonMappingException && t.getCause() != null ? t.getCause() : t;
            JsonParser p = ctxt.getParser();
            String section = path(p.getParsingContext());
            String at = indexedPath(p.getParsingContext());
            int sectionLine = keyLines.getOrDefault(at, line(p));
            if (cause instanceof InvalidValue v) {
                String key = (section.isEmpty() ? "" : section + ".") + v.key();
                if (reported.add(key)) {
                    problems.add(
                            name
                                    + ":"
                                    + keyLines.getOrDefault(at + "." + v.key(), sectionLine)
                                    + ": "
                                    + key
                                    + ": "
                                    + v.getMessage());
                }
            } else if (reported.stream().noneMatch(r -> r.startsWith(section + "."))) {
                String message =
                        cause instanceof IllegalArgumentException
                                ? cause.getMessage()
                                : Problems.describe(cause);
                reported.add(section);
                problems.add(
                        name
                                + ":"
                                + sectionLine
                                + ": "
                                + (section.isEmpty() ? "" : section + ": ")
                                + message);
            }
            return null;
        }

        private void report(JsonParser p, String message) {
            String key = path(p.getParsingContext());
            reported.add(key);
            problems.add(name + ":" + line(p) + ": " + key + ": " + message);
        }
    }

    private static Object placeholder(Class<?> type) {
        if (type == boolean.class) {
            return false;
        }
        if (type == int.class || type == long.class) {
            return 0;
        }
        return null;
    }

    private static String describe(
            String name, JsonMappingException e, Map<String, Integer> keyLines) {
        if (e instanceof ValueInstantiationException && e.getCause() instanceof InvalidValue v) {
            // A record named the key it refuses: place the problem on that key's line, also inside
            // a list.
            String at = indexedPath(e.getPath());
            String key = path(e.getPath());
            return name
                    + ":"
                    + keyLines.getOrDefault(
                            at + "." + v.key(), keyLines.getOrDefault(at, lineOf(e)))
                    + ": "
                    + (key.isEmpty() ? "" : key + ".")
                    + v.key()
                    + ": "
                    + v.getMessage();
        }
        JsonLocation loc = e.getLocation();
        String where = name + ":" + (loc == null ? 0 : loc.getLineNr()) + ": ";
        String key = path(e.getPath());
        String message =
                e instanceof ValueInstantiationException && e.getCause() != null
                        ? e.getCause().getMessage()
                        : e.getOriginalMessage();
        return where + (key.isEmpty() ? "" : key + ": ") + message;
    }

    private static int lineOf(JsonMappingException e) {
        JsonLocation loc = e.getLocation();
        return loc == null ? 0 : loc.getLineNr();
    }

    /** {@code dkim.keys[1].selector}: with list indices, to tell the elements of a list apart. */
    static String indexedPath(JsonStreamContext ctx) {
        Deque<String> parts = new ArrayDeque<>();
        for (JsonStreamContext c = ctx; c != null; c = c.getParent()) {
            if (c.inObject() && c.getCurrentName() != null) {
                parts.addFirst("." + c.getCurrentName());
            } else if (c.inArray()) {
                parts.addFirst("[" + Math.max(0, c.getCurrentIndex()) + "]");
            }
        }
        String p = String.join("", parts);
        return p.startsWith(".") ? p.substring(1) : p;
    }

    private static String indexedPath(List<JsonMappingException.Reference> refs) {
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : refs) {
            if (r.getFieldName() != null) {
                b.append(b.length() == 0 ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.toString();
    }

    /** {@code delivery.retry.schedule}: object keys only, list indices left out, as operators read their file. */
    static String path(JsonStreamContext ctx) {
        Deque<String> names = new ArrayDeque<>();
        for (JsonStreamContext c = ctx; c != null; c = c.getParent()) {
            if (c.inObject() && c.getCurrentName() != null) {
                names.addFirst(c.getCurrentName());
            }
        }
        return String.join(".", names);
    }

    private static String path(List<JsonMappingException.Reference> refs) {
        List<String> names = new ArrayList<>();
        for (JsonMappingException.Reference r : refs) {
            if (r.getFieldName() != null) {
                names.add(r.getFieldName());
            }
        }
        return String.join(".", names);
    }

    /** What a value of {@code type} is, for the key at {@code p}: a port is a number of its own kind. */
    private static String article(Class<?> type, JsonParser p) {
        String key = p.getParsingContext().getCurrentName();
        if ((type == Integer.class || type == int.class)
                && key != null
                && (key.equals("port") || key.endsWith("-port"))) {
            return "a port number (1-65535)";
        }
        return article(type);
    }

    private static String article(Class<?> type) {
        if (type == Duration.class) {
            return "a duration";
        }
        if (type == ByteSize.class) {
            return "a size";
        }
        if (type == SpaceReserve.class) {
            return "a size or a percentage";
        }
        if (type == HostPort.class) {
            return "host:port";
        }
        if (type == Network.class) {
            return "a network";
        }
        if (type == Integer.class
                || type == int.class
                || type == Long.class
                || type == long.class) {
            return "a whole number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class || type == Path.class || type == URI.class) {
            return "a text value";
        }
        if (List.class.isAssignableFrom(type)) {
            return "a list";
        }
        if (type.isEnum()) {
            return "one of " + enumValues(type);
        }
        return "a mapping";
    }

    private static String describe(JsonToken t) {
        if (t == null) {
            return "nothing";
        }
        return switch (t) {
            case START_OBJECT -> "a mapping";
            case START_ARRAY -> "a list";
            case VALUE_STRING -> "text";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.asString() == null ? t.name().toLowerCase(Locale.ROOT) : t.asString();
        };
    }

    private static String enumValues(Class<?> type) {
        List<String> names = new ArrayList<>();
        for (Object c : type.getEnumConstants()) {
            names.add(c.toString().toLowerCase(Locale.ROOT));
        }
        return String.join(", ", names);
    }
}
