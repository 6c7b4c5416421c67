package dev.loupe.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.CheckpointException;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every number HfConfig reads is checked for type, range, divisibility and overflow before any
 * arithmetic, and the message names the JSON field and its value (issue 19, item 7).
 */
class ConfigValuesTest {
    @TempDir
    Path dir;

    private void refused(String model, String from, String to, String message) throws IOException {
        Files.copy(Fixtures.model(model).resolve("config.json"), dir.resolve("config.json"));
        Path config = dir.resolve("config.json");
        String text = Files.readString(config);
        assertThat(text).contains(from);
        Files.writeString(config, text.replace(from, to));
        assertThatThrownBy(() -> ModelLoader.config(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"n_layer\": 2|\"n_layer\": 1.5|config.json: n_layer must be a positive integer, got 1.5",
        "\"n_layer\": 2|\"n_layer\": \"2\"|config.json: n_layer must be a positive integer, got \"2\"",
        "\"n_head\": 4|\"n_head\": 0|config.json: n_head must be a positive integer, got 0",
        "\"n_head\": 4|\"n_head\": -4|config.json: n_head must be a positive integer, got -4",
        "\"n_embd\": 32|\"n_embd\": 1e9|config.json: n_embd must be a positive integer, got 1.0E9",
        "\"n_embd\": 32|\"n_embd\": 99999999999|n_embd must be a positive integer that fits in an int, got 99999999999",
        "\"n_embd\": 32|\"n_embd\": 1000000000|config.json: 4 × n_embd 1000000000 = 4000000000 is too large",
        "\"n_embd\": 32|\"n_embd\": 30|config.json: n_embd 30 is not divisible by n_head 4",
        "\"n_positions\": 128|\"n_positions\": 12.5|config.json: n_positions must be a positive integer, got 12.5",
        "\"layer_norm_epsilon\": 1e-05|\"layer_norm_epsilon\": 0|config.json: layer_norm_epsilon must be greater than 0",
        "\"layer_norm_epsilon\": 1e-05|\"layer_norm_epsilon\": \"small\"|config.json: layer_norm_epsilon must be a number",
        })
    void gpt2(String from, String to, String message) throws IOException {
        refused("gpt2", from, to, message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"rope_theta\": 10000.0|\"rope_theta\": 0|rope_parameters.rope_theta must be greater than 0, got 0.0",
        "\"rope_theta\": 10000.0|\"rope_theta\": -1.0|rope_parameters.rope_theta must be greater than 0, got -1.0",
        "\"rope_theta\": 10000.0|\"rope_theta\": \"1e4\"|rope_parameters.rope_theta must be a number, got \"1e4\"",
        "\"num_key_value_heads\": 2|\"num_key_value_heads\": 3"
                + "|num_key_value_heads 3 must divide the number of attention heads 4",
        "\"num_key_value_heads\": 2|\"num_key_value_heads\": 0|num_key_value_heads must be a positive integer, got 0",
        "\"head_dim\": 8|\"head_dim\": 0|config.json: head_dim must be a positive integer, got 0",
        "\"rms_norm_eps\": 1e-06|\"rms_norm_eps\": -1e-6|config.json: rms_norm_eps must be greater than 0",
        "\"rms_norm_eps\": 1e-06|\"rms_norm_eps\": 1e-06, \"rope_scaling\": \"linear\""
                + "|rope_scaling must be an object, got \"linear\"",
        "\"rms_norm_eps\": 1e-06|\"rms_norm_eps\": 1e-06, \"rope_scaling\": {\"type\": \"yarn\"}|rope scaling 'yarn'",
        "\"rms_norm_eps\": 1e-06|\"rms_norm_eps\": 1e-06, \"rope_scaling\": {\"rope_type\": 3}|rope_type must be a string, got 3",
        "\"rms_norm_eps\": 1e-06|\"rms_norm_eps\": 1e-06, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": -8}"
                + "|rope_scaling.factor must be greater than 0",
        })
    void llama(String from, String to, String message) throws IOException {
        refused("llama", from, to, message);
    }
}
