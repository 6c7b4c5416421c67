package dev.loupe.cli.tutorial;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a tutorial page is read into blocks, output blocks, tolerances and pictures. */
class TutorialPageTest {
    @TempDir
    Path dir;

    @Test
    void pairsEachJavaBlockWithTheOutputAfterItAndReadsTolerancesAndPictures() throws IOException {
        Path page = write("""
                # A page
                ```java
                int x = 1;
                ```
                text
                ```output
                1
                ```
                <!-- tolerance 0.01 -->
                ```
                not run: a shell command
                ```
                ```java
                System.out.println(2.5);
                ```
                ```output
                2.5
                ```
                ![a picture](images/a.png) and ![another](images/b.png)
                """);
        TutorialPage tutorial = TutorialPage.read(page);
        assertThat(tutorial.blocks()).hasSize(2);
        assertThat(tutorial.blocks().get(0).code()).isEqualTo("int x = 1;\n");
        assertThat(tutorial.blocks().get(0).expectedOutput()).isEqualTo("1\n");
        assertThat(tutorial.blocks().get(0).tolerance()).isEqualTo(TutorialPage.DEFAULT_TOLERANCE);
        assertThat(tutorial.blocks().get(1).line()).isEqualTo(13);
        assertThat(tutorial.blocks().get(1).tolerance()).isEqualTo(0.01);
        assertThat(tutorial.images()).containsExactly("a.png", "b.png");
    }

    @Test
    void refusesAnOpenFenceAndAnOutputWithNoJavaBlockBeforeIt() throws IOException {
        Path open = write("```java\nint x;\n");
        assertThatThrownBy(() -> TutorialPage.read(open)).isInstanceOf(LoupeException.class)
                .hasMessageContaining(":1: the ``` fence is never closed");
        Path orphan = write("```output\n1\n```\n");
        assertThatThrownBy(() -> TutorialPage.read(orphan)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("an output block must follow a java block");
    }

    private Path write(String text) throws IOException {
        Path page = Files.createTempFile(dir, "page", ".md");
        Files.writeString(page, text);
        return page;
    }
}
