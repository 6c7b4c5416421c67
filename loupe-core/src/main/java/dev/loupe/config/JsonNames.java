package dev.loupe.config;

import dev.loupe.LoupeException;
import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Looks up an enum constant by its TransformerLens JSON name, refusing unknown names with the valid ones. */
final class JsonNames {
    private JsonNames() {}

    static <E extends Enum<E>> E parse(String key, String name, E[] values, Function<E, String> jsonName) {
        for (E value : values) {
            if (jsonName.apply(value).equals(name)) {
                return value;
            }
        }
        String valid = Arrays.stream(values).map(jsonName).collect(Collectors.joining(", "));
        String what = name == null ? key + " is missing" : key + " '" + name + "' is not supported";
        throw new LoupeException(what + " (use one of " + valid + ")");
    }
}
