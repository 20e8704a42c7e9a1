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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.tlsrelay.core.queue.SpaceReserve;

/**
 * Reads {@link RelayConfig} from YAML. Unknown keys, wrong types and bad values are collected, not thrown one by one,
 * so that {@code tlsrelay config check} can print them all: {@code tlsrelay.yaml:14: delivery.retry.schedule: "5x" is
 * not a duration}.
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
        values.addDeserializer(HostPort.class, scalar(HostPort.class, t -> HostPort.parse(t, 53)));
        values.addDeserializer(Network.class, scalar(Network.class, Network::parse));
        values.addDeserializer(URI.class, scalar(URI.class, URI::create));
        values.addDeserializer(Path.class, scalar(Path.class, Path::of));
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

    /** A deserializer for a value written as one string; a parse failure is reported, not thrown. */
    private static <T> JsonDeserializer<T> scalar(Class<T> type, Function<String, T> parse) {
        return new JsonDeserializer<>() {
            @Override
            public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                if (!p.currentToken().isScalarValue()) {
                    return type.cast(ctxt.handleUnexpectedToken(type, p));
                }
                String text = p.getValueAsString();
                try {
                    return parse.apply(text);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    return type.cast(ctxt.handleWeirdStringValue(type, text, "%s", e.getMessage()));
                }
            }
        };
    }

    /** Records each problem with its line and key path, then lets parsing go on. */
    private static final class Collector extends DeserializationProblemHandler {
        private final String name;
        private final List<String> problems;
        private final Map<String, Integer> keyLines;

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
            } else if (!failureMsg.contains(valueToConvert)) {
                message =
                        "\""
                                + valueToConvert
                                + "\" is not "
                                + article(targetType)
                                + ": "
                                + failureMsg;
            }
            problems.add(
                    name + ":" + line(p) + ": " + path(p.getParsingContext()) + ": " + message);
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
            problems.add(
                    name
                            + ":"
                            + line(p)
                            + ": "
                            + path(p.getParsingContext())
                            + ": "
                            + valueToConvert
                            + " is not "
                            + article(targetType));
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
            problems.add(
                    name
                            + ":"
                            + line(p)
                            + ": "
                            + path(p.getParsingContext())
                            + ": expected "
                            + article(targetType.getRawClass())
                            + ", found "
                            + describe(t));
            p.skipChildren();
            return placeholder(targetType.getRawClass());
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
