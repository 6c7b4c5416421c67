package dev.loupe.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * Loupe as a dependency: the BOM manages every library module, the one version written in loupe-bom/pom.xml is
 * the one every module's parent and the example project name, and the license the poms declare is in LICENSE.
 */
class ReleaseMetadataTest {
    /** Surefire runs in the module's folder. */
    private static final Path ROOT = Path.of("..");
    /** The modules that are applications or tests, not libraries a user depends on. */
    private static final List<String> NOT_LIBRARIES = List.of("loupe-bom", "loupe-cli", "loupe-bench", "loupe-architecture");

    private static Element pom(Path file) throws Exception {
        Document document = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
        return document.getDocumentElement();
    }

    /** The text of the first child element {@code name} of {@code parent}, or null. */
    private static String child(Element parent, String name) {
        for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element element && element.getTagName().equals(name)) {
                return element.getTextContent().strip();
            }
        }
        return null;
    }

    private static Element childElement(Element parent, String name) {
        NodeList nodes = parent.getElementsByTagName(name);
        return nodes.getLength() == 0 ? null : (Element) nodes.item(0);
    }

    private static List<String> texts(Element parent, String name) {
        List<String> out = new ArrayList<>();
        NodeList nodes = parent.getElementsByTagName(name);
        for (int i = 0; i < nodes.getLength(); i++) {
            out.add(nodes.item(i).getTextContent().strip());
        }
        return out;
    }

    @Test
    void theBomManagesEveryLibraryModuleAtTheOneVersion() throws Exception {
        Element bom = pom(ROOT.resolve("loupe-bom/pom.xml"));
        String version = child(bom, "version");
        assertThat(version).as("a release version, not a snapshot").matches("\\d+\\.\\d+\\.\\d+");
        List<String> libraries = texts(pom(ROOT.resolve("pom.xml")), "module").stream()
                .filter(module -> !NOT_LIBRARIES.contains(module)).toList();
        assertThat(libraries).contains("loupe-core", "loupe-lens", "loupe-sae", "loupe-viz");
        assertThat(texts(childElement(bom, "dependencyManagement"), "artifactId"))
                .containsExactlyInAnyOrderElementsOf(libraries);

        List<Path> poms = new ArrayList<>(List.of(ROOT.resolve("pom.xml")));
        texts(pom(ROOT.resolve("pom.xml")), "module").stream().filter(module -> !module.equals("loupe-bom"))
                .forEach(module -> poms.add(ROOT.resolve(module).resolve("pom.xml")));
        for (Path file : poms) {
            assertThat(child(childElement(pom(file), "parent"), "version")).as("the parent version in " + file)
                    .isEqualTo(version);
        }
        assertThat(texts(pom(ROOT.resolve("examples/pom.xml")), "loupe.version")).as("examples/pom.xml")
                .containsExactly(version);
    }

    @Test
    void theDeclaredLicenseIsTheLicenseFile() throws Exception {
        Element bom = pom(ROOT.resolve("loupe-bom/pom.xml"));
        assertThat(texts(bom, "license")).hasSize(1);
        assertThat(child(childElement(bom, "license"), "name")).isEqualTo("Apache-2.0");
        assertThat(Files.readString(ROOT.resolve("LICENSE"))).contains("Apache License", "Version 2.0, January 2004");
    }

    /**
     * The poms name no address that does not exist: Loupe has no public repository yet, so there is no project
     * {@code <url>} and no {@code <scm>} (an earlier pom had an invented github.com address), and the README says that
     * this keeps Loupe off Maven Central. Once there is one, the pom's address must be the one the README gives.
     */
    @Test
    void theProjectAddressIsRealOrAbsent() throws Exception {
        Element bom = pom(ROOT.resolve("loupe-bom/pom.xml"));
        String readme = Files.readString(ROOT.resolve("README.md"));
        String url = child(bom, "url");
        if (url == null) {
            assertThat(childElement(bom, "scm")).as("an <scm> without a project <url>").isNull();
            assertThat(readme).contains("no public repository yet");
        } else {
            assertThat(readme).contains(url);
            assertThat(child(childElement(bom, "scm"), "connection")).isEqualTo("scm:git:" + url + ".git");
        }
        for (String module : texts(pom(ROOT.resolve("pom.xml")), "module")) {
            assertThat(Files.readString(ROOT.resolve(module).resolve("pom.xml"))).as(module)
                    .doesNotContain("<scm>", "github.com/loupe");
        }
    }

    @Test
    void theLibrariesLogThroughTheApiOnly() throws IOException {
        for (String library : List.of("loupe-core", "loupe-lens", "loupe-sae", "loupe-viz")) {
            String pom = Files.readString(ROOT.resolve(library).resolve("pom.xml"));
            assertThat(pom.lines().filter(line -> line.contains("<artifactId>slf4j-simple</artifactId>")))
                    .as(library + ": a logging backend only for its tests")
                    .allMatch(line -> line.contains("<scope>test</scope>"));
        }
    }
}
