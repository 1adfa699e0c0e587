import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * One contender for a Curator {@link InterProcessMutex}, run by the Rust test
 * {@code examples/tests/curator_interop.rs} next to Rust contenders on the same lock path.
 *
 * <p>Usage: {@code LockContender <connect> <lockPath> <id> <rounds> <holdMs> <logFile>}. It
 * connects, prints {@code ready id=<id>}, waits for a line on stdin (so every contender starts
 * together), then takes the lock {@code rounds} times. While holding it, it appends
 * {@code acquire id=.. n=.. at=..} and, just before releasing, {@code release id=.. n=.. at=..}
 * to the log file. The file is opened for appending (O_APPEND) and each line is one write, so
 * the order of lines in the file is the order of the writes across every process: if two
 * contenders ever held the lock at once, an acquire would come between another contender's
 * acquire and release.
 */
public final class LockContender {
    private LockContender() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: LockContender <connect> <lockPath> <id> <rounds> <holdMs> <logFile>");
            System.exit(2);
        }
        String connect = args[0];
        String path = args[1];
        String id = args[2];
        int rounds = Integer.parseInt(args[3]);
        long holdMs = Long.parseLong(args[4]);
        String logFile = args[5];

        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10_000)
                .connectionTimeoutMs(10_000)
                .retryPolicy(new ExponentialBackoffRetry(100, 5))
                .build();
        try (FileOutputStream log = new FileOutputStream(logFile, true)) {
            client.start();
            if (!client.blockUntilConnected(30, TimeUnit.SECONDS)) {
                System.err.println("LockContender " + id + ": not connected to " + connect);
                System.exit(3);
            }
            InterProcessMutex mutex = new InterProcessMutex(client, path);
            System.out.println("ready id=" + id);
            System.out.flush();
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            for (int n = 1; n <= rounds; n++) {
                mutex.acquire();
                try {
                    append(log, "acquire id=" + id + " n=" + n + " at=" + micros());
                    Thread.sleep(holdMs);
                    append(log, "release id=" + id + " n=" + n + " at=" + micros());
                } finally {
                    mutex.release();
                }
            }
        } finally {
            client.close();
        }
        System.out.println("done id=" + id);
    }

    /** One write(2) per line: appends from several processes never interleave. */
    private static void append(FileOutputStream log, String line) throws IOException {
        log.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static long micros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }
}
