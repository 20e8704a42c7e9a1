package org.tlsrelay.smtp.cluster;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.config.RedisUrl;
import org.tlsrelay.core.io.Problems;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.SslOptions;
import redis.clients.jedis.SslVerifyMode;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * The relay's one connection to the cluster's Redis, used only on its own thread ({@code cluster-redis}) with short
 * timeouts, so that nothing else ever waits on Redis longer than a caller chooses to. It knows whether Redis answers:
 * when a call fails the link is down (one WARN), every call fails at once without touching the network, and a probe
 * every {@link #PROBE_PERIOD} tries to reconnect; when one succeeds the link is up again (one INFO) and the
 * {@link #onReconnect} tasks run, so that each part can hand Redis what it did locally meanwhile.
 */
public final class RedisLink implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RedisLink.class);

    /** How often a link that is down tries to reconnect. */
    static final Duration PROBE_PERIOD = Duration.ofSeconds(1);

    /** A Redis call that needs the connection. */
    @FunctionalInterface
    public interface Call<T> {
        T run(Jedis redis);
    }

    private final RedisUrl url;
    private final String nodeId;
    private final Duration timeout;
    private final ScheduledThreadPoolExecutor thread;
    private final List<Runnable> reconnectTasks = new CopyOnWriteArrayList<>();
    private final List<Runnable> lostTasks = new CopyOnWriteArrayList<>();
    private final AtomicLong outages = new AtomicLong();
    private volatile boolean up;
    private volatile boolean closed;
    // the cluster thread only:
    private Jedis redis;
    private boolean warned;
    private boolean everUp;
    private boolean quiet; // a command's link: it says itself what it found
    private volatile String lastProblem = "";

    /**
     * @param timeout for connecting and for each reply; also how long {@link #await} waits in all, twice over
     */
    public RedisLink(RedisUrl url, String nodeId, Duration timeout) {
        this.url = url;
        this.nodeId = nodeId;
        this.timeout = timeout;
        this.thread =
                new ScheduledThreadPoolExecutor(
                        1,
                        r -> {
                            Thread t = new Thread(r, "cluster-redis");
                            t.setDaemon(true);
                            return t;
                        });
        thread.setRemoveOnCancelPolicy(true);
        thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /** Starts probing: the first connection is tried at once. */
    public RedisLink start() {
        every(PROBE_PERIOD, this::probe);
        return this;
    }

    /**
     * Waits up to {@code wait} for the first attempt to connect (at start, before delivery begins); returns whether
     * Redis answered. Never throws: a relay starts without Redis.
     */
    public boolean awaitFirstContact(Duration wait) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        execute(() -> f.complete(null)); // runs after the first probe, queued before it by start()
        try {
            f.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // not yet
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return up;
    }

    /** Connects at once for a command, without logging: an {@link IOException} says why Redis cannot be used. */
    public void connectNow() throws IOException {
        CompletableFuture<Void> f = new CompletableFuture<>();
        execute(
                () -> {
                    warned = true; // the command reports it itself
                    quiet = true;
                    probe();
                    f.complete(null);
                });
        try {
            f.get(timeout.toMillis() * 3 + 100, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // reported below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!up) {
            throw new IOException(
                    "cannot reach Redis at "
                            + url
                            + (lastProblem.isEmpty() ? "" : ": " + lastProblem));
        }
    }

    public RedisUrl url() {
        return url;
    }

    public String nodeId() {
        return nodeId;
    }

    /** Whether Redis answered the last call (the gauge {@code tlsrelay_cluster_redis_up}). */
    public boolean up() {
        return up;
    }

    /** How often the link was lost. */
    public long outages() {
        return outages.get();
    }

    /** Runs {@code task} on the cluster thread whenever the link comes up (the first time too). */
    public void onReconnect(Runnable task) {
        reconnectTasks.add(task);
    }

    /** Runs {@code task} on the cluster thread whenever the link is lost. */
    public void onLost(Runnable task) {
        lostTasks.add(task);
    }

    /**
     * Runs {@code call} on the cluster thread. The future fails with an {@link IOException} when the link is down
     * (without waiting) or the call fails; it never blocks the caller.
     */
    public <T> CompletableFuture<T> submit(Call<T> call) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            thread.execute(
                    () -> {
                        try {
                            f.complete(runHere(call));
                        } catch (IOException e) {
                            f.completeExceptionally(e);
                        }
                    });
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new IOException("the cluster link is closed"));
        }
        return f;
    }

    /**
     * Runs {@code call} and waits for it, at most twice the link's timeout: for work that is not on the delivery path
     * (the TLS-RPT job, the command line).
     */
    public <T> T await(Call<T> call) throws IOException {
        try {
            return submit(call).get(timeout.toMillis() * 2 + 100, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io
                    ? io
                    : new IOException(Problems.describe(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException(
                    "Redis at "
                            + url
                            + " did not answer within "
                            + Durations.format(timeout.multipliedBy(2)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    /** Runs {@code task} on the cluster thread every {@code period}, the first time now. */
    public ScheduledFuture<?> every(Duration period, Runnable task) {
        return thread.scheduleWithFixedDelay(
                () -> {
                    try {
                        task.run();
                    } catch (RuntimeException e) {
                        LOG.warn("cluster: {}", Problems.describe(e), e);
                    }
                },
                0,
                period.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** Runs {@code task} on the cluster thread soon; never blocks. */
    public void execute(Runnable task) {
        try {
            thread.execute(task);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    /** Runs a call on the cluster thread (the caller is on it). */
    <T> T runHere(Call<T> call) throws IOException {
        if (closed) {
            throw new IOException("the cluster link is closed");
        }
        if (!up) {
            throw new IOException("Redis at " + url + " is unreachable");
        }
        try {
            return call.run(redis);
        } catch (JedisDataException e) {
            // Redis answered, with an error (e.g. out of memory under noeviction): the link is fine
            throw new IOException("Redis at " + url + " refused a command: " + describe(e), e);
        } catch (JedisException | IllegalStateException e) {
            lost(e);
            throw new IOException(describe(e), e);
        }
    }

    private void probe() {
        if (closed) {
            return;
        }
        if (up) {
            try {
                redis.ping();
            } catch (JedisException e) {
                lost(e);
            }
            return;
        }
        Jedis r = null;
        try {
            DefaultJedisClientConfig.Builder cfg =
                    DefaultJedisClientConfig.builder()
                            .connectionTimeoutMillis((int) timeout.toMillis())
                            .socketTimeoutMillis((int) timeout.toMillis())
                            .database(url.database())
                            .autoNegotiateProtocol(false) // RESP2 suffices: no HELLO
                            .clientName("tlsrelay-" + nodeId);
            if (url.tls()) { // rediss://: the JDK's CAs, and the server's name checked
                cfg.sslOptions(SslOptions.builder().sslVerifyMode(SslVerifyMode.FULL).build());
            }
            url.userName().ifPresent(cfg::user);
            url.secret().ifPresent(cfg::password);
            r = new Jedis(new HostAndPort(url.host(), url.port()), cfg.build());
            r.ping();
        } catch (JedisException e) {
            if (r != null) {
                r.close();
            }
            lastProblem = describe(e);
            if (!warned) {
                warned = true;
                LOG.warn(
                        "cluster: Redis at {} is unreachable ({}); working on local state (limits, counts,"
                                + " policy cache) and trying again every {}",
                        url,
                        describe(e),
                        Durations.format(PROBE_PERIOD));
            }
            return;
        }
        redis = r;
        up = true;
        warned = false;
        if (!quiet) {
            LOG.info(
                    everUp
                            ? "cluster: Redis at {} is back; node {} hands over what it did on local state"
                            : "cluster: connected to Redis at {} as node {}",
                    url,
                    nodeId);
        }
        everUp = true;
        for (Runnable t : reconnectTasks) {
            try {
                t.run();
            } catch (RuntimeException e) {
                LOG.warn("cluster: reconciling after reconnect failed: {}", Problems.describe(e));
            }
            if (!up) {
                return;
            }
        }
    }

    private void lost(Exception e) {
        if (!up) {
            return;
        }
        up = false;
        outages.incrementAndGet();
        if (redis != null) {
            try {
                redis.close();
            } catch (RuntimeException ignored) {
                // the connection is broken anyway
            }
            redis = null;
        }
        warned = true;
        LOG.warn(
                "cluster: lost Redis at {} ({}); working on local state (limits, counts, policy cache) until it"
                        + " is back",
                url,
                describe(e));
        for (Runnable t : lostTasks) {
            try {
                t.run();
            } catch (RuntimeException ex) {
                LOG.warn("cluster: {}", Problems.describe(ex));
            }
        }
    }

    private static String describe(Exception e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return m == null || m.isBlank() ? Problems.describe(e) : m;
    }

    /** Stops the thread and closes the connection; what was queued is dropped (nothing of it is durable). */
    @Override
    public void close() {
        closed = true;
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            thread.execute(
                    () -> {
                        if (redis != null) {
                            try {
                                redis.close();
                            } catch (RuntimeException ignored) {
                                // closing anyway
                            }
                            redis = null;
                        }
                        up = false;
                        done.complete(null);
                    });
            done.get(timeout.toMillis() * 2 + 100, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException | ExecutionException | TimeoutException e) {
            // closing anyway
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread.shutdownNow();
    }
}
