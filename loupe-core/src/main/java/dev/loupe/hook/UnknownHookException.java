package dev.loupe.hook;

import dev.loupe.LoupeException;
import java.util.List;

/** A hook name the model does not have; the message lists the closest valid names. */
public class UnknownHookException extends LoupeException {
    private final String name;
    private final List<String> suggestions;

    public UnknownHookException(String name, List<String> suggestions) {
        super("Unknown hook name '" + name + "'. Closest valid names: " + String.join(", ", suggestions)
                + ". model.hookNames() (or `loupe hooks --model DIR`) lists them all.");
        this.name = name;
        this.suggestions = List.copyOf(suggestions);
    }

    /** The name that was asked for. */
    public String name() {
        return name;
    }

    /** The closest valid names, closest first. */
    public List<String> suggestions() {
        return suggestions;
    }
}
