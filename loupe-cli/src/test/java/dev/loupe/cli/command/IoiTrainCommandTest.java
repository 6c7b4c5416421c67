package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe train ioi} on a tiny model: the folder it writes reads text, and --resume needs a checkpoint folder. */
class IoiTrainCommandTest {
    @TempDir
    Path tmp;

    @Test
    void trainsAModelWithMlpsAndATokenizerAndResumesOnlyFromACheckpointFolder() {
        Path out = tmp.resolve("model");
        String[] args = {"train", "ioi", "--out", out.toString(), "--layers", "1", "--d-model", "16", "--heads", "2",
            "--d-mlp", "32", "--steps", "6", "--batch-size", "8", "--seed", "2"};
        CliTestSupport.Result result = run(args);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Trained ioi-1l (1 layers with MLPs, d_model 16, 2 heads, d_mlp 32,"
                + " vocabulary 75, context 24)", "Steps              6 (this run: 0 to 6), seed 2",
                "held_out_templates  logit diff", "held_out_both", "(400 prompts)", "tokenizer.json");
        assertThat(result.err()).contains("6/6 100%  loss ");
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(out)) {
            assertThat(model.config().dMlp()).isEqualTo(32);
            assertThat(model.toStrTokens("When Mary and John went to the store , John gave a drink to"))
                    .hasSize(15).startsWith("<|endoftext|>", "When", "Mary");
        }

        CliTestSupport.Result resume = run("train", "ioi", "--out", tmp.resolve("other").toString(), "--resume");
        assertThat(resume.exitCode()).isEqualTo(2);
        assertThat(resume.err()).contains("--resume needs --checkpoint-dir DIR");
    }
}
