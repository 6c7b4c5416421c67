package dev.loupe.viz.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * A real headless Chromium (Debian's {@code chromium} + {@code chromium-driver}) driven through
 * {@code /usr/bin/chromedriver}, named explicitly so that Selenium Manager never looks for a driver on
 * the network. Where they are not installed, {@link #startOrSkip()} skips the test (JUnit reports it
 * SKIPPED, never passed). Shared with loupe-server's browser tests through loupe-viz's test jar.
 */
public final class Chromium implements AutoCloseable {
    /**
     * Debian's browser; the system property loupe.test.chromium or, as ./check reads it, the environment variable
     * LOUPE_CHROMIUM names another (or none, to see the skip: LOUPE_CHROMIUM=/nonexistent).
     */
    public static final Path BROWSER = configured("loupe.test.chromium", "LOUPE_CHROMIUM", "/usr/bin/chromium");
    /** Debian's driver; the system property loupe.test.chromedriver or LOUPE_CHROMEDRIVER names another. */
    public static final Path DRIVER = configured("loupe.test.chromedriver", "LOUPE_CHROMEDRIVER", "/usr/bin/chromedriver");

    private static Path configured(String property, String variable, String debian) {
        String fromEnvironment = System.getenv(variable);
        String fallback = fromEnvironment == null || fromEnvironment.isEmpty() ? debian : fromEnvironment;
        return Path.of(System.getProperty(property, fallback));
    }

    public final ChromeDriver driver;

    private Chromium(ChromeDriver driver) {
        this.driver = driver;
    }

    /**
     * Skips the calling test (JUnit reports it SKIPPED) unless the browser and its driver are installed.
     * Call it from {@code @BeforeEach}: an assumption failing in {@code @BeforeAll} hides the tests
     * from the report instead.
     */
    public static void assumeInstalled() {
        assumeTrue(Files.isExecutable(BROWSER) && Files.isExecutable(DRIVER),
                "SKIPPED: no headless Chromium here (" + BROWSER + ", " + DRIVER + "); install it with"
                        + " apt-get install -y --no-install-recommends chromium chromium-driver (./check does)");
    }

    /** Selenium's own log: quiet, as it warns that it lacks DevTools bindings for this Chromium (unused here). */
    private static final java.util.logging.Logger SELENIUM = java.util.logging.Logger.getLogger("org.openqa.selenium");

    /** Starts the browser, or skips the test (see {@link #assumeInstalled()}). */
    public static Chromium startOrSkip() {
        assumeInstalled();
        SELENIUM.setLevel(Level.SEVERE);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(DRIVER.toFile())
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(BROWSER.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--force-device-scale-factor=1", "--hide-scrollbars", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
                "--disable-sync", "--disable-extensions", "--lang=en-US");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        logs.enable(LogType.PERFORMANCE, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(20));
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
        return new Chromium(driver);
    }

    /** The console messages since the last call. */
    public List<LogEntry> console() {
        return new ArrayList<>(driver.manage().logs().get(LogType.BROWSER).getAll());
    }

    /** The DevTools performance-log messages (JSON, Network.* events among them) since the last call. */
    public List<String> performance() {
        List<String> messages = new ArrayList<>();
        for (LogEntry entry : driver.manage().logs().get(LogType.PERFORMANCE).getAll()) {
            messages.add(entry.getMessage());
        }
        return messages;
    }

    @Override
    public void close() {
        driver.quit();
    }
}
