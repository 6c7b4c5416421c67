package dev.loupe.train.ioi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import dev.loupe.tokenize.Tokenizer;
import dev.loupe.train.TrainingRandom;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The IOI task's split really holds out templates and name pairs, its prompts are well formed and seeded. */
class IoiTaskTest {
    private static final int DRAWS = 20_000;

    @TempDir
    Path dir;

    @Test
    void trainingNeverDrawsAHeldOutTemplateOrPairButEveryNameWordAndPartOfATemplate() {
        IoiTask task = IoiTask.of(0);
        Set<Integer> heldTemplates = new HashSet<>();
        task.heldOutTemplates().forEach(t -> heldTemplates.add(t.index()));
        Set<String> heldPairs = task.heldOutPairs();
        assertThat(heldTemplates).hasSize(IoiTemplate.INTROS.size());
        assertThat(heldPairs).hasSize(IoiTask.HELD_OUT_PAIRS);

        TrainingRandom random = TrainingRandom.seeded(5);
        Set<Long> templateTokens = new HashSet<>();
        Map<Long, Set<Long>> partners = new HashMap<>();
        Set<Integer> intros = new HashSet<>();
        Set<Integer> actions = new HashSet<>();
        Set<Boolean> orders = new HashSet<>();
        for (int i = 0; i < DRAWS; i++) {
            IoiPrompt p = task.trainingPrompt(random);
            assertThat(heldTemplates).as("template of %s", p).doesNotContain(p.template());
            assertThat(heldPairs).as("pair of %s", p).doesNotContain(pair(p.io(), p.s()));
            partners.computeIfAbsent(p.io(), k -> new HashSet<>()).add(p.s());
            partners.computeIfAbsent(p.s(), k -> new HashSet<>()).add(p.io());
            IoiTemplate t = IoiTemplate.ALL.get(p.template());
            intros.add(t.intro());
            actions.add(t.action());
            orders.add(p.ioFirst());
            for (long id : p.tokens()) {
                templateTokens.add(id);
            }
        }
        assertThat(intros).hasSize(IoiTemplate.INTROS.size());
        assertThat(actions).hasSize(IoiTemplate.ACTIONS.size());
        assertThat(orders).containsExactlyInAnyOrder(true, false);
        assertThat(partners).hasSize(IoiVocabulary.NAMES.size());
        partners.forEach((name, with) -> assertThat(with).as("training partners of %s", IoiVocabulary.word(name))
                .hasSizeGreaterThanOrEqualTo(IoiTask.MIN_TRAINING_PARTNERS));
        // Every word of a held-out prompt was trained on (in other templates, with other partners).
        for (IoiSplit split : IoiSplit.values()) {
            for (IoiPrompt p : task.prompts(split, 500, 9)) {
                for (long id : p.tokens()) {
                    assertThat(templateTokens).as("word %s of %s", IoiVocabulary.word(id), p).contains(id);
                }
                assertThat(heldTemplates.contains(p.template())).as("%s in %s", p, split)
                        .isEqualTo(split.heldOutTemplates());
                assertThat(heldPairs.contains(pair(p.io(), p.s()))).as("%s in %s", p, split)
                        .isEqualTo(split.heldOutPairs());
            }
        }
    }

    @Test
    void promptsAreSeededAndTheSplitFollowsTheTaskSeed() {
        IoiTask task = IoiTask.of(0);
        assertThat(task.prompts(IoiSplit.HELD_OUT_BOTH, 50, 3)).isEqualTo(IoiTask.of(0)
                .prompts(IoiSplit.HELD_OUT_BOTH, 50, 3));
        assertThat(task.prompts(IoiSplit.TRAIN, 50, 3)).isNotEqualTo(task.prompts(IoiSplit.TRAIN, 50, 4));
        IoiTask other = IoiTask.of(1);
        assertThat(other.heldOutPairs()).isNotEqualTo(task.heldOutPairs());
        assertThat(other.heldOutPairs()).isEqualTo(IoiTask.of(1).heldOutPairs());
        assertThat(task.trainingPairs()).doesNotContainAnyElementsOf(task.heldOutPairs());
        assertThat(task.trainingPairs().size() + task.heldOutPairs().size())
                .isEqualTo(IoiVocabulary.NAMES.size() * (IoiVocabulary.NAMES.size() - 1) / 2);
    }

    @Test
    void aPromptNamesTheIoOnceAndTheSubjectTwiceAndItsSwapChangesOnlyS2() {
        for (IoiPrompt p : IoiTask.of(0).prompts(IoiSplit.TRAIN, 200, 2)) {
            long[] t = p.tokens();
            assertThat(t[0]).isZero();
            assertThat(t.length).isLessThanOrEqualTo(IoiTask.N_CTX);
            assertThat(IoiVocabulary.word(t[p.end()])).isEqualTo("to");
            assertThat(t[p.ioPosition()]).isEqualTo(p.io());
            assertThat(t[p.s1Position()]).isEqualTo(p.s());
            assertThat(t[p.s2Position()]).isEqualTo(p.s());
            assertThat(p.ioFirst()).isEqualTo(p.ioPosition() < p.s1Position());
            assertThat(java.util.Arrays.stream(t).filter(IoiVocabulary::isName).count()).isEqualTo(3);
            IoiPrompt swapped = p.swapped();
            assertThat(swapped.io()).isEqualTo(p.s());
            assertThat(swapped.s()).isEqualTo(p.io());
            int changed = 0;
            for (int i = 0; i < t.length; i++) {
                changed += t[i] != swapped.tokens()[i] ? 1 : 0;
            }
            assertThat(changed).isEqualTo(1);
            assertThat(swapped.tokens()[p.s2Position()]).isEqualTo(p.io());
        }
        IoiTemplate held = IoiTask.of(0).heldOutTemplates().get(0);
        assertThat(IoiTask.of(0).prompts(IoiSplit.HELD_OUT_TEMPLATES, held, 20, 1))
                .allSatisfy(p -> assertThat(p.template()).isEqualTo(held.index()));
        assertThatThrownBy(() -> IoiTask.of(0).prompts(IoiSplit.TRAIN, held, 20, 1)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("trainingTemplates()");
    }

    @Test
    void theTokenizerJsonReadsTextAsTheVocabularyDoes() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), IoiVocabulary.tokenizerJson());
        String text = "When Mary and John went to the store , John gave a drink to";
        try (Tokenizer tokenizer = Tokenizer.fromModelDir(dir)) {
            assertThat(tokenizer.encode(text)).containsExactly(IoiVocabulary.encode(text));
            assertThat(tokenizer.encode(IoiVocabulary.BOS + text)).startsWith(0L).hasSize(15);
            assertThat(tokenizer.bosId()).isZero();
            for (int id = 0; id < IoiVocabulary.size(); id++) {
                assertThat(tokenizer.decodeToken(id)).isEqualTo(IoiVocabulary.word(id));
            }
        }
        assertThat(IoiVocabulary.decode(IoiVocabulary.encode(text))).isEqualTo(text);
        assertThatThrownBy(() -> IoiVocabulary.encode("When Zoe")).isInstanceOf(LoupeException.class)
                .hasMessageContaining("'Zoe' is not a word");
    }

    private static String pair(long a, long b) {
        List<String> names = IoiVocabulary.NAMES;
        String x = IoiVocabulary.word(a);
        String y = IoiVocabulary.word(b);
        return names.indexOf(x) < names.indexOf(y) ? x + "+" + y : y + "+" + x;
    }
}
