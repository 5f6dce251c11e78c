//! Placeholder being replaced: a minimal stand-in for the configuration
//! registry, with the same API, until the full one lands.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<String, String>,
}

impl Config {
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let mut values: BTreeMap<String, String> = [
            ("port", "6379"),
            ("bind", "* -::*"),
            ("requirepass", ""),
            ("databases", "16"),
            ("maxclients", "10000"),
            ("timeout", "0"),
            ("hz", "10"),
            ("proto-max-bulk-len", "536870912"),
            ("io-threads", "0"),
            ("loglevel", "notice"),
            ("logfile", ""),
            ("dir", "."),
            ("daemonize", "no"),
            ("pidfile", ""),
            ("protected-mode", "yes"),
            ("cluster-enabled", "no"),
            ("slowlog-log-slower-than", "10000"),
            ("slowlog-max-len", "128"),
            ("maxmemory", "0"),
            ("maxmemory-policy", "noeviction"),
            ("save", ""),
            ("appendonly", "no"),
            ("hash-max-listpack-entries", "128"),
            ("hash-max-listpack-value", "64"),
            ("hash-max-ziplist-entries", "128"),
            ("hash-max-ziplist-value", "64"),
            ("set-max-intset-entries", "512"),
            ("zset-max-listpack-entries", "128"),
            ("zset-max-listpack-value", "64"),
            ("zset-max-ziplist-entries", "128"),
            ("zset-max-ziplist-value", "64"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut i = 0;
        while i < args.len() {
            let name = args[i].trim_start_matches("--").to_ascii_lowercase();
            let mut vals = Vec::new();
            i += 1;
            while i < args.len() && !args[i].starts_with("--") {
                vals.push(args[i].clone());
                i += 1;
            }
            values.insert(name, vals.join(" "));
        }
        Ok(Config { values })
    }
    fn v(&self, k: &str) -> &str {
        self.values.get(k).map_or("", String::as_str)
    }
    pub fn port(&self) -> u16 {
        self.v("port").parse().unwrap_or(6379)
    }
    pub fn bind(&self) -> Vec<String> {
        self.v("bind")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
    pub fn requirepass(&self) -> Option<Vec<u8>> {
        let p = self.v("requirepass");
        (!p.is_empty()).then(|| p.as_bytes().to_vec())
    }
    pub fn databases(&self) -> usize {
        self.v("databases").parse().unwrap_or(16)
    }
    pub fn maxclients(&self) -> u64 {
        self.v("maxclients").parse().unwrap_or(10000)
    }
    pub fn timeout(&self) -> u64 {
        self.v("timeout").parse().unwrap_or(0)
    }
    pub fn hz(&self) -> u32 {
        self.v("hz").parse().unwrap_or(10)
    }
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.v("proto-max-bulk-len").parse().unwrap_or(512 << 20)
    }
    pub fn io_threads(&self) -> usize {
        self.v("io-threads").parse().unwrap_or(1)
    }
    pub fn loglevel(&self) -> &str {
        self.v("loglevel")
    }
    pub fn logfile(&self) -> &str {
        self.v("logfile")
    }
    pub fn dir(&self) -> &str {
        self.v("dir")
    }
    pub fn daemonize(&self) -> bool {
        self.v("daemonize") == "yes"
    }
    pub fn pidfile(&self) -> &str {
        self.v("pidfile")
    }
    pub fn protected_mode(&self) -> bool {
        self.v("protected-mode") == "yes"
    }
    pub fn cluster_enabled(&self) -> bool {
        self.v("cluster-enabled") == "yes"
    }
    pub fn slowlog_log_slower_than(&self) -> i64 {
        self.v("slowlog-log-slower-than").parse().unwrap_or(10000)
    }
    pub fn slowlog_max_len(&self) -> u64 {
        self.v("slowlog-max-len").parse().unwrap_or(128)
    }
    pub fn maxmemory(&self) -> u64 {
        self.v("maxmemory").parse().unwrap_or(0)
    }
    pub fn maxmemory_policy(&self) -> &str {
        self.v("maxmemory-policy")
    }
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter(|(k, _)| {
                patterns
                    .iter()
                    .any(|p| ferrodis_store::glob::glob_match(p, k.as_bytes(), true))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<String>, String> {
        let mut changed = Vec::new();
        for (k, v) in pairs {
            let k = String::from_utf8_lossy(k).to_ascii_lowercase();
            if !self.values.contains_key(&k) {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{k}'"
                ));
            }
            self.values
                .insert(k.clone(), String::from_utf8_lossy(v).into_owned());
            changed.push(k);
        }
        Ok(changed)
    }
    pub fn rewrite(&self) -> Result<(), ConfigError> {
        Err(ConfigError::Invalid(
            "ERR The server is running without a config file".into(),
        ))
    }
    pub fn not_implemented_set(&self) -> Vec<String> {
        Vec::new()
    }
}
