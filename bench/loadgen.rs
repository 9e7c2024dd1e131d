//! The benchmark's load generator: a small HTTP/1.1 keep-alive client on one tokio thread.
//!
//! Why our own and not wrk: the `checkout` and `assign` scenarios are two requests per
//! iteration on the same connection with per-connection state (which account, which billing
//! frequency next), and every connection must own its accounts so that no iteration
//! collides with another. This client does exactly that, records the latency of every
//! iteration (exact percentiles, no sampling) and costs one core at most.
//!
//! Usage: loadgen --url http://127.0.0.1:8099 --token JWT --scenario read_subscription
//!        --accounts 10000 --connections 32 --warmup 2 --duration 20
//!
//! It is also the webhooks scenario's endpoints: `loadgen --receive 127.0.0.1:8199
//! --delay-ms 200` answers every request `200` (after the delay) until killed; see `receive`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone)]
struct Options {
    host: String,
    token: String,
    scenario: String,
    accounts: u64,
    connections: u64,
    warmup: Duration,
    duration: Duration,
    /// In every idempotency key: bench/run checks out on one database more than once, the
    /// server keeps keys for 24 h, and each connection's random sequence is the same every run.
    run: u128,
}

fn account(n: u64) -> String {
    format!("00000000-0000-4000-8001-{n:012x}")
}

fn subscription(n: u64) -> String {
    format!("00000000-0000-4000-8002-{n:012x}")
}

fn user(n: u64, index: u64) -> String {
    format!("00000000-0000-4000-8003-{:012x}", n * 8 + index)
}

/// A small xorshift: enough to spread requests over accounts, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(host: &str) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends one request and reads the whole response; returns the status code.
    async fn send(
        &mut self,
        opts: &Options,
        method: &str,
        path: &str,
        extra: &str,
        body: &str,
    ) -> std::io::Result<u16> {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
            opts.host,
            opts.token,
            body.len()
        );
        self.stream.write_all(request.as_bytes()).await?;
        self.buffer.clear();
        let mut chunk = [0u8; 8192];
        let header_end = loop {
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            self.buffer.extend_from_slice(&chunk[..read]);
            if let Some(at) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&self.buffer[..header_end]).to_ascii_lowercase();
        let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while self.buffer.len() < header_end + length {
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
        Ok(status)
    }
}

/// What one connection does, iteration after iteration.
struct Worker {
    index: u64,
    rng: Rng,
    iteration: u64,
}

impl Worker {
    /// Runs one iteration; `Ok(true)` when every response had the expected status.
    async fn iterate(&mut self, opts: &Options, conn: &mut Connection) -> std::io::Result<bool> {
        self.iteration += 1;
        match opts.scenario.as_str() {
            "read_subscription" => {
                let n = 1 + self.rng.below(opts.accounts);
                let path = format!(
                    "/v1/accounts/{}/subscriptions/{}",
                    account(n),
                    subscription(n)
                );
                Ok(conn.send(opts, "GET", &path, "", "").await? == 200)
            }
            "quote" => {
                let n = 1 + self.rng.below(opts.accounts / 2);
                let path = format!("/v1/accounts/{}/cart/quote", account(n));
                Ok(conn.send(opts, "GET", &path, "", "").await? == 200)
            }
            "checkout" => {
                // This connection owns every account n of the second half with
                // (n - half - 1) % connections == index, and cycles through them; each pass
                // flips the billing frequency, so every item changes something.
                let half = opts.accounts / 2;
                let owned = half / opts.connections;
                let k = self.iteration - 1;
                let n = half + 1 + self.index + opts.connections * (k % owned);
                let frequency = if (k / owned).is_multiple_of(2) {
                    "annual"
                } else {
                    "monthly"
                };
                let base = format!("/v1/accounts/{}/cart", account(n));
                let item = format!(
                    r#"{{"type":"change","subscription_id":"{}","billing_frequency":"{frequency}"}}"#,
                    subscription(n)
                );
                let added = conn
                    .send(opts, "POST", &format!("{base}/items"), "", &item)
                    .await?;
                let key = format!(
                    "Idempotency-Key: bench-{}-{}-{}-{}\r\n",
                    opts.run,
                    self.index,
                    k,
                    self.rng.below(u64::MAX)
                );
                let placed = conn
                    .send(opts, "POST", &format!("{base}/checkout"), &key, "{}")
                    .await?;
                Ok(added == 200 && placed == 201)
            }
            "assign" => {
                // Each connection owns the accounts n with (n - 1) % connections == index.
                let n = 1
                    + self.index
                    + opts.connections * self.rng.below(opts.accounts / opts.connections);
                let path = format!(
                    "/v1/accounts/{}/subscriptions/{}/assignments/{}",
                    account(n),
                    subscription(n),
                    user(n, 4)
                );
                let assigned = conn.send(opts, "PUT", &path, "", "").await?;
                let unassigned = conn.send(opts, "DELETE", &path, "", "").await?;
                Ok(matches!(assigned, 200 | 201) && unassigned == 204)
            }
            other => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unknown scenario {other}"),
            )),
        }
    }
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    /// Every iteration run, the warm-up's included: what the server's counters (statements
    /// sent to the database) are divided by.
    all_iterations: u64,
}

async fn run_connection(opts: Options, index: u64, warmup_end: Instant, end: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut worker = Worker {
        index,
        rng: Rng(0x9E37_79B9_7F4A_7C15 ^ ((index + 1) * 0x2545_F491)),
        iteration: 0,
    };
    let mut conn = match Connection::open(&opts.host).await {
        Ok(conn) => conn,
        Err(_) => {
            tally.errors += 1;
            return tally;
        }
    };
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let outcome = worker.iterate(&opts, &mut conn).await;
        let elapsed = started.elapsed();
        tally.all_iterations += 1;
        let ok = matches!(outcome, Ok(true));
        if outcome.is_err() {
            match Connection::open(&opts.host).await {
                Ok(fresh) => conn = fresh,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        if started >= warmup_end {
            tally
                .latencies_us
                .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
            if !ok {
                tally.errors += 1;
            }
        }
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)]) / 1000.0
}

/// Receiver mode, the webhook endpoints of the `webhooks` scenario (`--receive ADDR
/// --delay-ms N`): a minimal HTTP/1.1 server. Each request's head is read up to its empty line
/// and its body by `Content-Length` (or up to the last chunk when chunked); after `N` ms, if
/// asked (the slow endpoint), it answers `200` with an empty body and keeps the connection
/// open unless the request said `Connection: close`. Nothing is checked, not even the
/// signature: the benchmark counts deliveries in the database. Runs until killed.
async fn receive(addr: &str, delay: Duration) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(async move {
                    // A connection that fails ends alone: its client sees it closed.
                    let _ = answer(stream, delay).await;
                });
            }
            // Out of file descriptors, say: wait a little and go on.
            Err(e) => {
                eprintln!("loadgen: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Answers the requests of one connection, one after the other.
async fn answer(mut stream: TcpStream, delay: Duration) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffer: Vec<u8> = Vec::with_capacity(16 * 1024);
    loop {
        let header_end = loop {
            if let Some(at) = find(&buffer, b"\r\n\r\n") {
                break at + 4;
            }
            if !read_more(&mut stream, &mut buffer).await? {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buffer[..header_end]).to_ascii_lowercase();
        let chunked = header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked"));
        let close = header(&head, "connection")
            .is_some_and(|v| v.split(',').any(|token| token.trim() == "close"));
        let body_end = if chunked {
            // Up to the last chunk: `0` and an empty line, right after the head's own line
            // break when the body is empty. (A JSON body has no raw line break to be taken for
            // it; trailers are not supported.)
            loop {
                if let Some(at) = find(&buffer[header_end - 2..], b"\r\n0\r\n\r\n") {
                    break header_end - 2 + at + 7;
                }
                if !read_more(&mut stream, &mut buffer).await? {
                    return Ok(());
                }
            }
        } else {
            let length: usize = header(&head, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buffer.len() < header_end + length {
                if !read_more(&mut stream, &mut buffer).await? {
                    return Ok(());
                }
            }
            header_end + length
        };
        // What follows, if anything, is the next request already sent.
        buffer.drain(..body_end);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if close {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await?;
            return stream.shutdown().await;
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await?;
    }
}

/// Reads what the stream has into `buffer`; `false` when the peer has closed it.
async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 8192];
    let read = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..read]);
    Ok(read > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of header `name` (lower case) in a lower-cased request head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |name: &str, default: u64| {
        arg(&args, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    if let Some(addr) = arg(&args, "--receive") {
        let delay = Duration::from_millis(number("--delay-ms", 0));
        if let Err(e) = runtime.block_on(receive(&addr, delay)) {
            eprintln!("loadgen: {addr}: {e}");
            std::process::exit(2);
        }
        return;
    }
    let url = arg(&args, "--url").unwrap_or_else(|| "http://127.0.0.1:8099".into());
    let opts = Options {
        host: url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned(),
        token: arg(&args, "--token").unwrap_or_default(),
        scenario: arg(&args, "--scenario").unwrap_or_else(|| "read_subscription".into()),
        accounts: number("--accounts", 10_000),
        connections: number("--connections", 32).max(1),
        warmup: Duration::from_secs(number("--warmup", 2)),
        duration: Duration::from_secs(number("--duration", 10)),
        run: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos()),
    };
    let tallies = runtime.block_on(async {
        let start = Instant::now();
        let warmup_end = start + opts.warmup;
        let end = warmup_end + opts.duration;
        let tasks: Vec<_> = (0..opts.connections)
            .map(|i| tokio::spawn(run_connection(opts.clone(), i, warmup_end, end)))
            .collect();
        let mut tallies = Vec::new();
        for task in tasks {
            if let Ok(tally) = task.await {
                tallies.push(tally);
            }
        }
        tallies
    });
    let mut latencies: Vec<u32> = tallies
        .iter()
        .flat_map(|t| t.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    let all_iterations: u64 = tallies.iter().map(|t| t.all_iterations).sum();
    let seconds = opts.duration.as_secs_f64();
    let result = format!(
        r#"{{"scenario":"{}","connections":{},"duration_s":{},"iterations":{},"all_iterations":{},"errors":{},"per_second":{:.1},"p50_ms":{:.3},"p99_ms":{:.3},"max_ms":{:.3}}}"#,
        opts.scenario,
        opts.connections,
        seconds,
        latencies.len(),
        all_iterations,
        errors,
        latencies.len() as f64 / seconds,
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
    );
    println!("{result}");
}
