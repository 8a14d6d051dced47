package philos.testservices;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.ingest.common.IngestCommonPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.script.mustache.MustachePlugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Test-only OpenSearch 2.19 node: one node, HTTP on a loopback port, no security plugin, with
 * the modules the log pipeline needs (netty4 for HTTP, ingest-common for the processors,
 * Painless for their conditions, Mustache for their templates) loaded from the classpath. Its
 * home directory is kept between runs, so a stop and a start on the same port keep the indices.
 *
 * <p>Usage: {@code OpenSearchTestServer --home DIR --port PORT --transport-port PORT
 * [--host 127.0.0.1]}. Prints {@code READY http://HOST:PORT} on stdout once the node has
 * started and runs until SIGTERM/SIGINT or until its standard input is closed.
 */
public final class OpenSearchTestServer {
    private OpenSearchTestServer() {}

    /** Node's constructor that takes classpath plugins is protected. */
    private static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Path home = null;
        String host = "127.0.0.1";
        int port = -1;
        int transportPort = -1;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--home" -> { home = Path.of(require(args[i], value)).toAbsolutePath(); i++; }
                case "--host" -> { host = require(args[i], value); i++; }
                case "--port" -> { port = Integer.parseInt(require(args[i], value)); i++; }
                case "--transport-port" -> { transportPort = Integer.parseInt(require(args[i], value)); i++; }
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (home == null || port <= 0 || transportPort <= 0) {
            usage("--home, --port and --transport-port are required");
        }
        Files.createDirectories(home.resolve("config"));

        long started = System.nanoTime();
        Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "philos-test")
                .put("node.name", "philos-test")
                .put("network.host", host)
                .put("http.port", port)
                .put("transport.port", transportPort)
                .put("discovery.type", "single-node")
                // A busy CI disk must not turn the test indices read-only.
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();
        LogConfigurator.registerErrorListener();
        LogConfigurator.configureWithoutConfig(settings);
        // Log4j's default configuration: the console (our log file), errors only; warnings too.
        Configurator.setRootLevel(Level.WARN);
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
                settings, Collections.emptyMap(), home.resolve("config"), () -> "philos-test");
        List<Class<? extends Plugin>> plugins =
                List.of(
                        Netty4Plugin.class, IngestCommonPlugin.class, PainlessPlugin.class, MustachePlugin.class);
        Node node = new EmbeddedNode(environment, plugins);
        node.start();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(10, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "opensearch-test-server-shutdown"));

        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        System.out.println("READY http://" + host + ":" + port + " (" + ms + " ms)");
        System.out.flush();

        // Exit (running the shutdown hook) when the parent closes our stdin.
        Thread stdinWatcher = new Thread(() -> {
            try (InputStream in = System.in) {
                byte[] buf = new byte[256];
                while (in.read(buf) >= 0) {
                    // discard
                }
            } catch (IOException ignored) {
                // treat as closed
            }
            System.exit(0);
        }, "opensearch-test-server-stdin");
        stdinWatcher.setDaemon(true);
        stdinWatcher.start();

        stopped.await();
    }

    private static String require(String flag, String value) {
        if (value == null) {
            usage(flag + " needs a value");
        }
        return value;
    }

    private static void usage(String message) {
        System.err.println("OpenSearchTestServer: " + message);
        System.err.println("usage: OpenSearchTestServer --home DIR --port PORT --transport-port PORT [--host 127.0.0.1]");
        System.exit(2);
    }
}
