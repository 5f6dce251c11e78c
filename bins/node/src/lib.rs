//! `ferrodis-node`: the Ferrodis server, started like `redis-server`:
//! `ferrodis-node [/path/to/redis.conf] [--name value ...]`.
//!
//! The library holds the whole server so that tests and fuzz targets can
//! drive command dispatch without sockets; the binary only installs the
//! counting allocator and calls [`main_entry`].
//!
//! The binary stays thin: it reads the configuration, builds the store,
//! binds the listeners and runs the worker threads (`net`), which dispatch
//! commands through one table (`commands`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod alloc;
mod blocking;
mod client;
mod cluster;
mod commands;
mod config;
mod daemon;
mod digest;
mod latency;
mod log;
mod net;
mod persist;
mod pubsub;
mod repl;
mod session;
mod shared;
mod slowlog;
mod sys;

use std::process::ExitCode;
use std::sync::Arc;

use ferrodis_store::Store;

use crate::config::Config;
use crate::shared::Shared;

pub use crate::alloc::Counting;

/// The unit tests count allocations as the binary does (the allocator's
/// own tests read the count).
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: Counting = Counting;
pub use crate::session::Session;

/// The names of every command in the table, lowercase and sorted (what
/// `COMMAND` lists). Fuzz targets draw command words from it.
pub fn command_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = commands::table().keys().copied().collect();
    names.sort_unstable();
    names
}

const USAGE: &str = "\
Usage: ferrodis-node [/path/to/redis.conf] [options] [-]
       ferrodis-node -v or --version
       ferrodis-node -h or --help

Options take the names of redis.conf directives, each preceded by '--',
and override the configuration file:

       ferrodis-node --port 7000
       ferrodis-node /etc/redis/7000.conf --loglevel verbose
       ferrodis-node --port 7000 --cluster-enabled yes
";

/// Runs the server with the process arguments, as `redis-server` would;
/// returns the process exit status.
pub fn main_entry() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("-v" | "--version") => {
            println!("ferrodis-node v={}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("\n{e}");
            return ExitCode::FAILURE;
        }
    };
    // Detach before anything else runs: forking is only sound while the
    // process has a single thread.
    let mut ready = None;
    if config.daemonize() {
        match daemon::detach() {
            Ok(daemon::Detached::Parent(status)) => return status,
            Ok(daemon::Detached::Child(r)) => ready = Some(r),
            Err(e) => {
                eprintln!("ferrodis-node: cannot run in the background: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    match serve(config, &mut ready) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::warning(&e.to_string());
            if let Some(r) = ready {
                r.failed(&e.to_string());
            }
            ExitCode::FAILURE
        }
    }
}

/// Where a daemonized server writes its pid when `pidfile` is not set
/// (Redis' `CONFIG_DEFAULT_PID_FILE`).
const DEFAULT_PIDFILE: &str = "/var/run/redis.pid";

/// Runs the server; `ready` (when daemonized) is told once the pid file is
/// written, the dataset loaded and the workers serving.
fn serve(config: Config, ready: &mut Option<daemon::Ready>) -> std::io::Result<()> {
    log::init(config.loglevel(), config.logfile())?;
    // A panic anywhere is a bug: log it like Redis logs a crash and stop the
    // whole process, rather than lose one worker thread and hang its
    // clients.
    std::panic::set_hook(Box::new(|info| {
        log::warning(&format!(
            "=== FERRODIS BUG REPORT START ===\n{info}\n{}",
            std::backtrace::Backtrace::force_capture()
        ));
        std::process::abort();
    }));
    log::notice("oO0OoO0OoO0Oo Ferrodis is starting oO0OoO0OoO0Oo");
    log::notice(&format!(
        "Ferrodis version={}, bits=64, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    ));
    for name in config.not_implemented_set() {
        log::warning(&format!("Configuration directive '{name}' is accepted but not implemented yet; it has no effect"));
    }
    if !config.dir().is_empty() {
        std::env::set_current_dir(config.dir())?;
    }
    let databases = if config.cluster_enabled() {
        1
    } else {
        config.databases()
    };
    let store = Arc::new(Store::builder().databases(databases).build());
    store.settings().proto_max_bulk_len.store(
        config.proto_max_bulk_len() as usize,
        std::sync::atomic::Ordering::Relaxed,
    );
    commands::apply_encoding_settings(&store, &config);
    commands::hyperloglog::apply_config(&store, &config);
    store.set_memory_probe(alloc::used_memory);
    commands::apply_memory_settings(&store, &config);
    let backlog = config.get_i64("tcp-backlog").unwrap_or(511);
    let listeners = match net::bind(&config.bind(), config.port(), backlog) {
        Ok(l) => l,
        Err(e) => {
            log::warning(&format!("Warning: {e}"));
            return Err(std::io::Error::new(
                e.kind(),
                format!(
                    "Failed listening on port {} (tcp), aborting.",
                    config.port()
                ),
            ));
        }
    };
    net::check_backlog(backlog);
    if config.get_bool("always-show-logo").unwrap_or(false) {
        log::raw(&logo(&config));
    } else {
        log::notice(&format!(
            "Running mode={}, port={}.",
            if config.cluster_enabled() {
                "cluster"
            } else {
                "standalone"
            },
            config.port()
        ));
    }
    // Redis writes a pid file when one is configured, or to a default path
    // when daemonized; best effort, as Redis (a read-only /var/run must not
    // stop the server).
    let pidfile = pidfile_path(&config);
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
            log::warning(&format!("Failed to write PID file '{pidfile}': {e}"));
        }
    }
    // `io-threads N` sets the number of worker threads; 0 (the default
    // when unset) means one per core.
    let workers = match config.io_threads() {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, 64);
    let cluster = if config.cluster_enabled() {
        Some(cluster::setup(&config).map_err(std::io::Error::other)?)
    } else {
        None
    };
    let mut shared = Shared::new(store, config);
    if let Some(c) = cluster {
        shared = shared.with_cluster(c);
    }
    let shared = Shared::into_arc(shared);
    cluster::start_bus(&shared).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("Failed listening on the cluster bus port: {e}"),
        )
    })?;
    shared
        .store
        .set_notifier(Arc::new(pubsub::KeyspacePublisher {
            shared: Arc::downgrade(&shared),
        }));
    pubsub::apply_notify_flags(&shared);
    alloc::mark_startup();
    shared
        .persist
        .gated
        .store(workers > 1, std::sync::atomic::Ordering::Relaxed);
    // Clients are served while the dataset loads, as Redis serves them
    // between loading steps: `-LOADING` for what may not run yet.
    if let Err(e) = sys::install_shutdown_signals() {
        log::warning(&format!("Could not handle SIGTERM and SIGINT: {e}"));
    }
    shared.persist.loading.begin(
        persist::bytes_to_load(&shared),
        shared
            .config
            .read()
            .get_i64("loading-process-events-interval-bytes")
            .unwrap_or(2 * 1024 * 1024)
            .max(0) as u64,
    );
    let handles = net::start_workers(&shared, &listeners, workers)?;
    log::notice(&format!("Server initialized, {workers} worker threads"));
    let loaded = persist::load_at_start(&shared);
    // Workers holding clients until the load ended take them now.
    for w in shared.workers.read().iter() {
        w.send(shared::WorkerMsg::Wake);
    }
    loaded.map_err(std::io::Error::other)?;
    // Keys of a slot import a crash interrupted go.
    cluster::slotmig::recover_at_start(&shared);
    // `replicaof host port` in the configuration: follow that master.
    let replicaof = shared.config.read().replicaof();
    if let Some((host, port)) = replicaof {
        if shared.cluster.is_none() {
            repl::replicate_from(&shared, &host, port);
        }
    }
    alloc::update_peak();
    log::notice(&format!(
        "Ready to accept connections tcp on port {}",
        shared.port
    ));
    // The dataset is loaded and the workers serve: a waiting parent may
    // report success.
    if let Some(r) = ready.take() {
        r.succeeded();
    }
    for h in handles {
        let _ = h.join();
    }
    remove_pidfile(&shared.config.read());
    log::warning("Ferrodis is now ready to exit, bye bye...");
    Ok(())
}

/// The pid file: `pidfile`, or Redis' default path when daemonized.
fn pidfile_path(config: &Config) -> String {
    match config.pidfile() {
        "" if config.daemonize() => DEFAULT_PIDFILE.to_owned(),
        path => path.to_owned(),
    }
}

/// Removes the pid file, if there is one, as the server exits.
pub(crate) fn remove_pidfile(config: &Config) {
    let pidfile = pidfile_path(config);
    if !pidfile.is_empty() {
        log::notice("Removing the pid file.");
        let _ = std::fs::remove_file(&pidfile);
    }
}

/// The start banner (`always-show-logo yes`); tools that start servers
/// look for its `PID:` line.
fn logo(config: &Config) -> String {
    let mode = if config.cluster_enabled() {
        "cluster"
    } else {
        "standalone"
    };
    format!(
        "\n    ___                     _ _\n   | __|__ _ _ _ _ ___  __| (_)___     Ferrodis {} (Redis {} compatible) 64 bit\n   | _/ -_) '_| '_/ _ \\/ _` | (_-<\n   |_|\\___|_| |_| \\___/\\__,_|_/__/     Running in {mode} mode\n                                        Port: {}\n                                        PID: {}\n\n",
        env!("CARGO_PKG_VERSION"),
        crate::config::REDIS_VERSION,
        config.port(),
        std::process::id()
    )
}
