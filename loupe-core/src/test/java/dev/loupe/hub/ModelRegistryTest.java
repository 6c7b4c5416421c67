package dev.loupe.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import java.io.BufferedReader;
import java.io.StringReader;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** TransformerLens's official model names and aliases, resolved as its get_official_model_name. */
class ModelRegistryTest {
    private final ModelRegistry registry = ModelRegistry.official();

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "gpt2-small                  | gpt2",
        "gpt2                        | gpt2",
        "pythia-70m                  | EleutherAI/pythia-70m",
        "pythia                      | EleutherAI/pythia-70m",
        "EleutherAI/pythia-19m       | EleutherAI/pythia-70m",
        "pythia-v0                   | EleutherAI/pythia-70m-v0",
        "solu-1l                     | NeelNanda/SoLU_1L512W_C4_Code",
        "solu-1l-pile                | NeelNanda/SoLU_1L_v9_old",
        "attn-only-2l-demo           | NeelNanda/Attn-Only-2L512W-Shortformer-6B-big-lr",
        "distil-gpt2                 | distilgpt2",
        "gpt2-xl                     | gpt2-xl",
        "llama-7b                    | llama-7b-hf",
        "tiny-stories-1M             | roneneldan/TinyStories-1M",
        "meta-llama/Llama-3.2-1B     | meta-llama/Llama-3.2-1B",
        "gpt2-mistral-small-b        | stanford-crfm/battlestar-gpt2-small-x49",
        "phi-3                       | microsoft/Phi-3-mini-4k-instruct",
        "microsoft/Phi-3-mini-4k-instruct | microsoft/Phi-3-mini-4k-instruct",
        "mixtral                     | mistralai/Mixtral-8x7B-v0.1",
        "mixtral-8x7b                | mistralai/Mixtral-8x7B-v0.1",
        "mistralai/Mixtral-8x7B-v0.1 | mistralai/Mixtral-8x7B-v0.1",
        "mixtral-instruct            | mistralai/Mixtral-8x7B-Instruct-v0.1",
        "mixtral-8x7b-instruct       | mistralai/Mixtral-8x7B-Instruct-v0.1",
        "mistralai/Mixtral-8x7B-Instruct-v0.1 | mistralai/Mixtral-8x7B-Instruct-v0.1",
    })
    void resolvesOfficialNamesAndAliases(String nameOrAlias, String official) {
        assertThat(registry.officialName(nameOrAlias)).isEqualTo(official);
        assertThat(registry.find(nameOrAlias)).contains(official);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "GPT2-Small                  | gpt2",
        "GPT2                        | gpt2",
        "Pythia-70M                  | EleutherAI/pythia-70m",
        "eleutherai/PYTHIA-70m       | EleutherAI/pythia-70m",
        "SOLU-1L                     | NeelNanda/SoLU_1L512W_C4_Code",
        "neelnanda/solu_1l512w_c4_code | NeelNanda/SoLU_1L512W_C4_Code",
        "YI-34B                      | 01-ai/Yi-34B",
        "mgpt                        | ai-forever/mGPT",
    })
    void ignoresCase(String nameOrAlias, String official) {
        assertThat(registry.officialName(nameOrAlias)).isEqualTo(official);
    }

    @Test
    void unknownNameSuggestsClosestNamesAndLocalFolders() {
        assertThatThrownBy(() -> registry.officialName("gpt2-smal"))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("gpt2-smal")
                .hasMessageContaining("gpt2-small (alias of gpt2)")
                .hasMessageContaining("local Hugging Face model folder");
        assertThatThrownBy(() -> registry.officialName("pythia-71m"))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("pythia-70m (alias of EleutherAI/pythia-70m)");
        assertThat(registry.find("gpt2-smal")).isEmpty();
        assertThat(registry.find("")).isEmpty();
    }

    @Test
    void suggestsAtMostFiveNames() {
        try {
            registry.officialName("no-such-model-anywhere");
        } catch (LoupeException e) {
            String closest = e.getMessage().replaceFirst("(?s).*Closest: ", "").replaceFirst("(?s)\\. A path.*", "");
            assertThat(closest.split(", ")).hasSizeBetween(1, 5);
            return;
        }
        throw new AssertionError("expected a LoupeException");
    }

    /**
     * TransformerLens HEAD (commit 4cd36aaeb5dad931d085bd5d46a12b402fe15272) lists 247 official
     * names: counted as the quoted entries of OFFICIAL_MODEL_NAMES in
     * transformer_lens/supported_models.py ({@code sed -n '/^OFFICIAL_MODEL_NAMES/,/^]/p' | grep -c '^    "'})
     * and cross-checked with len(OFFICIAL_MODEL_NAMES) after executing that file in Python.
     */
    @Test
    void hasAsManyOfficialNamesAsTransformerLens() {
        List<String> names = registry.officialNames();
        assertThat(names).hasSize(247);
        assertThat(new HashSet<>(names)).hasSize(247);
        assertThat(names.get(0)).isEqualTo("01-ai/Yi-34B");
        assertThat(names.get(names.size() - 1)).isEqualTo("swiss-ai/Apertus-8B-Instruct-2509");
        // TransformerLens keeps the list sorted ignoring case; the resource keeps its order.
        assertThat(names).isSortedAccordingTo(String.CASE_INSENSITIVE_ORDER);
    }

    @Test
    void everyOfficialNameAndAliasResolves() {
        Set<String> keys = new HashSet<>();
        for (String official : registry.officialNames()) {
            assertThat(registry.officialName(official)).isEqualTo(official);
            keys.add(official.toLowerCase(Locale.ROOT));
            for (String alias : registry.aliases(official)) {
                assertThat(registry.officialName(alias)).as(alias).isEqualTo(official);
                keys.add(alias.toLowerCase(Locale.ROOT));
            }
        }
        // 247 official names and 408 distinct (ignoring case) aliases, no name shared by two models.
        assertThat(keys).hasSize(655);
    }

    @Test
    void aliasesInTableOrderWithoutRepeats() {
        assertThat(registry.aliases("gpt2")).containsExactly("gpt2-small");
        assertThat(registry.aliases("EleutherAI/pythia-70m"))
                .containsExactly("pythia-70m", "pythia", "EleutherAI/pythia-19m", "pythia-19m");
        assertThat(registry.aliases("eleutherai/pythia-70m")).startsWith("pythia-70m");
        assertThat(registry.aliases("gpt2-xl")).isEmpty();
        assertThat(registry.aliases("microsoft/Phi-3-mini-4k-instruct")).containsExactly("phi-3");
        assertThat(registry.aliases("mistralai/Mixtral-8x7B-v0.1")).containsExactly("mixtral", "mixtral-8x7b");
        assertThat(registry.aliases("mistralai/Mixtral-8x7B-Instruct-v0.1"))
                .containsExactly("mixtral-instruct", "mixtral-8x7b-instruct");
        // TransformerLens lists gpt2-mistral-small-b twice for this model.
        assertThat(registry.aliases("stanford-crfm/battlestar-gpt2-small-x49")).containsExactly(
                "stanford-gpt2-small-b", "battlestar-gpt2-small-x49", "gpt2-mistral-small-b");
        assertThatThrownBy(() -> registry.aliases("gpt2-small"))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("alias")
                .hasMessageContaining("'gpt2'");
        assertThatThrownBy(() -> registry.aliases("nope")).isInstanceOf(LoupeException.class);
    }

    /** The second wave's families by TransformerLens's names (Gemma 2, Gemma 3, Qwen3, OLMo 2). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "gemma-2-2b                  | google/gemma-2-2b",
        "google/gemma-2-2b           | google/gemma-2-2b",
        "gemma-2-9b                  | google/gemma-2-9b",
        "gemma-2-2b-it               | google/gemma-2-2b-it",
        "gemma-3-270m                | google/gemma-3-270m",
        "gemma-3-1b-pt               | google/gemma-3-1b-pt",
        "gemma-3-4b-it               | google/gemma-3-4b-it",
        "Qwen/Qwen3-0.6B             | Qwen/Qwen3-0.6B",
        "qwen3-1.7b                  | Qwen/Qwen3-1.7B",
        "qwen3-4b                    | Qwen/Qwen3-4B",
        "qwen3-8b                    | Qwen/Qwen3-8B",
        "qwen3-14b                   | Qwen/Qwen3-14B",
        "olmo-2-1b                   | allenai/OLMo-2-0425-1B",
        "olmo-2-7b                   | allenai/OLMo-2-1124-7B",
    })
    void resolvesTheSecondWavesTransformerLensNames(String nameOrAlias, String official) {
        assertThat(registry.officialName(nameOrAlias)).isEqualTo(official);
        assertThat(registry.officialNames()).contains(official);
    }

    /** Loupe's own rows (loupe-models.tsv): resolved like TransformerLens's, but not counted among them. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "olmo-2-13b                  | allenai/OLMo-2-1124-13B",
        "OLMo-2-13B-Instruct         | allenai/OLMo-2-1124-13B-Instruct",
        "olmo-2-32b                  | allenai/OLMo-2-0325-32B",
        "olmo-2-1b-instruct          | allenai/OLMo-2-0425-1B-Instruct",
        "allenai/olmo-2-1124-7b-instruct | allenai/OLMo-2-1124-7B-Instruct",
    })
    void resolvesLoupesOwnHubIdsApartFromTransformerLenss(String nameOrAlias, String loupeName) {
        assertThat(registry.officialName(nameOrAlias)).isEqualTo(loupeName);
        assertThat(registry.loupeNames()).contains(loupeName);
        assertThat(registry.officialNames()).doesNotContain(loupeName);
        assertThat(registry.aliases(loupeName)).isNotEmpty();
    }

    @Test
    void loupesNamesNeverShadowTransformerLenss() {
        assertThat(registry.loupeNames()).hasSize(6);
        for (String name : registry.loupeNames()) {
            for (String n : registry.aliases(name)) {
                assertThat(registry.officialName(n)).isEqualTo(name);
            }
        }
    }

    @Test
    void officialIsLoadedOnce() {
        assertThat(ModelRegistry.official()).isSameAs(registry);
    }

    @Test
    void laterRowsWinAsInTransformerLens() throws Exception {
        String table = """
                # comment
                a/one\tx,shared,X

                b/two\tshared
                c/three\t
                """;
        ModelRegistry small = ModelRegistry.parse(new BufferedReader(new StringReader(table)), "test");
        assertThat(small.officialNames()).containsExactly("a/one", "b/two", "c/three");
        assertThat(small.aliases("a/one")).containsExactly("x", "shared", "X");
        assertThat(small.officialName("SHARED")).isEqualTo("b/two");
        assertThat(small.officialName("x")).isEqualTo("a/one");
        assertThat(small.aliases("c/three")).isEmpty();
    }

    @Test
    void rejectsMalformedTables() {
        assertThatThrownBy(() -> ModelRegistry.parse(new BufferedReader(new StringReader("a\tb\tc\n")), "t"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("line 1");
        assertThatThrownBy(() -> ModelRegistry.parse(new BufferedReader(new StringReader("a\n\na\tb\n")), "t"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("twice");
    }
}
