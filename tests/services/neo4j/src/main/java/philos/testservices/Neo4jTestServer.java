package philos.testservices;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * Test-only Neo4j 5.26 Community server: the embedded engine with its Bolt connector on a
 * loopback port, authentication off, no HTTP. Its home directory is kept between runs, so
 * stopping and starting it again on the same port keeps the data, like a real server restart.
 *
 * <p>Usage: {@code Neo4jTestServer --home DIR --port PORT [--host 127.0.0.1] [--page-cache-mb 64]}.
 * Prints {@code READY bolt://HOST:PORT} on stdout once the default database is available and
 * runs until SIGTERM/SIGINT or until its standard input is closed.
 */
public final class Neo4jTestServer {
    private Neo4jTestServer() {}

    public static void main(String[] args) throws Exception {
        Path home = null;
        String host = "127.0.0.1";
        int port = -1;
        long pageCacheMb = 64;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--home" -> { home = Path.of(require(args[i], value)).toAbsolutePath(); i++; }
                case "--host" -> { host = require(args[i], value); i++; }
                case "--port" -> { port = Integer.parseInt(require(args[i], value)); i++; }
                case "--page-cache-mb" -> { pageCacheMb = Long.parseLong(require(args[i], value)); i++; }
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (home == null || port <= 0) {
            usage("--home and --port are required");
        }
        Files.createDirectories(home);

        long started = System.nanoTime();
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setUserLogProvider(new Log4jLogProvider(System.err, Level.INFO))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(GraphDatabaseInternalSettings.udc_network_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMb * 1024L * 1024L)
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.preallocate_store_files, false)
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, 8L * 1024L * 1024L)
                // Netty's default graceful-shutdown quiet period makes every stop take ~10 s.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(5))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                dbms.shutdown();
            } finally {
                stopped.countDown();
            }
        }, "neo4j-test-server-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(TimeUnit.MINUTES.toMillis(2))) {
            System.err.println("Neo4jTestServer: default database did not become available");
            System.exit(1);
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        System.out.println("READY bolt://" + host + ":" + port + " (" + ms + " ms)");
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
        }, "neo4j-test-server-stdin");
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
        System.err.println("Neo4jTestServer: " + message);
        System.err.println("usage: Neo4jTestServer --home DIR --port PORT [--host 127.0.0.1] [--page-cache-mb 64]");
        System.exit(2);
    }
}
