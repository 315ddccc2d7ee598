//! The effective configuration: defaults, then `justat.toml`, then `JUSTAT_*` variables.

use anyhow::{Context, Result, bail};
use justat_engine::reader::ReadLimits;
use justat_model::calendar::CalendarPolicy;
use justat_model::publication::Collection;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Every setting of Justat. Each key can be set in `justat.toml` and overridden by the
/// environment variable `JUSTAT_<KEY>` (upper case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where Justat keeps its files (and the SQLite database by default).
    pub data_dir: PathBuf,
    /// The address the server listens on (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// `sqlite://PATH` or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`; empty means the
    /// SQLite file `justat.db` inside `data_dir`.
    pub database_url: String,
    /// The address users reach the site at, for the absolute links of feeds, the sitemap and
    /// the API; an `https://` address makes cookies `Secure`. Empty: `http://` and the address
    /// the server listens on (never a request's `Host`).
    pub public_url: String,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
    /// With `trust_forwarded_for`: how many trusted reverse proxies in a row append to
    /// `X-Forwarded-For`. The client address is the entry this many from the right (1: the
    /// one the proxy in front of Justat added); entries further left are the client's own
    /// claims and are ignored.
    pub trusted_proxy_hops: u32,
    /// Minutes of inactivity after which a session ends.
    pub session_idle_minutes: u32,
    /// Hours after login after which a session ends, however active.
    pub session_absolute_hours: u32,
    /// The largest request body accepted, in KiB.
    pub max_body_kib: u32,
    /// Log filter (`error`, `warn`, `info`, `debug`, or a `tracing` filter directive). Logs go
    /// to stderr; `warn` keeps them to what needs attention, `info` adds one line per request.
    pub log: String,
    /// The largest delivery uploaded through the back office, in MiB.
    pub max_upload_mib: u32,
    /// Memory the public site's rendered answers may take, in MiB; 0 renders every request.
    pub public_cache_mib: u32,
    /// How often the server reads whether another process (the command line, a worker,
    /// another server) changed what the public sees, in milliseconds: the longest such a
    /// change takes to reach the cached pages. Release instants need no reading: a kept page
    /// ends at the next one.
    pub public_cache_poll_ms: u32,
    /// Memory the processing engine may use for a chain run before it spills to disk, in MiB.
    pub engine_memory_mib: u32,
    /// The longest line (CSV record) a delivery may hold, in KiB; a longer one refuses it.
    pub max_record_kib: u32,
    /// The most a compressed delivery may decompress to, in GiB.
    pub max_decompressed_gib: u32,
    /// The highest compression ratio of a compressed delivery (beyond its first MiB).
    pub max_compression_ratio: u32,
    /// The most data rows in one delivery.
    pub max_rows: u64,
    /// The collections whose releases are essential indicators, announced 12 months ahead
    /// (comma-separated slugs).
    pub essential_collections: String,
    /// The standard release time, Paris time: `HH:MM` for every collection, then
    /// `collection=HH:MM` overrides (comma-separated).
    pub release_times: String,
    /// Publish the names of early-access recipients beside a released publication (their
    /// function and organisation always are).
    pub embargo_publish_names: bool,
    /// The folder of the questionnaires (`surveys/`) the respondent portal reads.
    pub surveys_dir: PathBuf,
    /// How many hours before a release its embargo window opens (1 to 24): `H` for every
    /// collection, then `collection=H` overrides (comma-separated).
    pub embargo_hours: String,
    /// The Ed25519 key that signs the audit log's checkpoints (made by `justat audit keygen`),
    /// its public key beside it as `<file>.pub`. Keep it off the database host and out of the
    /// database's backups. Empty: no checkpoints, and `audit verify` cannot see a rewrite.
    pub audit_key: PathBuf,
    /// The folder of the signed checkpoints (`checkpoints.log`); empty means
    /// `<data_dir>/audit-checkpoints`.
    pub audit_checkpoint_dir: PathBuf,
    /// `justat serve` starts a worker process for the back office's jobs and restarts it if
    /// it dies; false when workers run apart (`justat worker`, e.g. as their own service).
    pub start_worker: bool,
    /// The memory a worker process may use, in MiB (its data segment, `RLIMIT_DATA`): a job
    /// that needs more fails and the worker is restarted; 0 for no limit.
    pub worker_memory_mib: u32,
    /// The SMTP server survey messages are sent through (host name or address). Empty: no
    /// message is sent, and a send says that the server is not configured.
    pub smtp_host: String,
    /// Its port (25 for a relay, 587 for submission; `justat mail-sink` listens on 2525).
    pub smtp_port: u16,
    /// Ask the server for STARTTLS. This build has no TLS, so `true` is refused: send through
    /// a local relay (postfix…) that encrypts onwards.
    pub smtp_starttls: bool,
    /// The sender of survey messages: `enquetes@justice.gouv.fr` or
    /// `SSER enquêtes <enquetes@justice.gouv.fr>`. Required with `smtp_host`.
    pub mail_from: String,
    /// Where respondents' replies go, if not to `mail_from`; empty for `mail_from`.
    pub mail_reply_to: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./justat-data"),
            listen: "127.0.0.1:8080".into(),
            database_url: String::new(),
            public_url: String::new(),
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            max_body_kib: 64,
            log: "warn".into(),
            max_upload_mib: 2048,
            public_cache_mib: 256,
            public_cache_poll_ms: 200,
            engine_memory_mib: 1024,
            max_record_kib: 1024,
            max_decompressed_gib: 20,
            max_compression_ratio: 200,
            max_rows: 200_000_000,
            essential_collections: "chiffres-cles,infos-rapides".into(),
            release_times: "12:00".into(),
            embargo_publish_names: false,
            surveys_dir: PathBuf::from("./surveys"),
            embargo_hours: "24".into(),
            audit_key: PathBuf::new(),
            audit_checkpoint_dir: PathBuf::new(),
            start_worker: true,
            worker_memory_mib: 4096,
            smtp_host: String::new(),
            smtp_port: 25,
            smtp_starttls: false,
            mail_from: String::new(),
            mail_reply_to: String::new(),
        }
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Built-in default.
    Default,
    /// The configuration file.
    File,
    /// An environment variable.
    Env,
}

/// The configuration and the origin of each key.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The values.
    pub config: Config,
    /// For each key, where its value came from.
    pub origins: Vec<(&'static str, Origin)>,
    /// The file read, if any.
    pub file: Option<PathBuf>,
}

/// Below this, a worker's runtime and database connections alone would not fit.
const MIN_WORKER_MEMORY_MIB: u32 = 64;

const KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "database_url",
    "public_url",
    "trust_forwarded_for",
    "trusted_proxy_hops",
    "session_idle_minutes",
    "session_absolute_hours",
    "max_body_kib",
    "log",
    "max_upload_mib",
    "public_cache_mib",
    "public_cache_poll_ms",
    "engine_memory_mib",
    "max_record_kib",
    "max_decompressed_gib",
    "max_compression_ratio",
    "max_rows",
    "essential_collections",
    "release_times",
    "embargo_publish_names",
    "surveys_dir",
    "embargo_hours",
    "audit_key",
    "audit_checkpoint_dir",
    "start_worker",
    "worker_memory_mib",
    "smtp_host",
    "smtp_port",
    "smtp_starttls",
    "mail_from",
    "mail_reply_to",
];

/// The most one survey message may take to send, connection included.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Config {
    /// Loads the configuration: `file` if given (it must exist), else `justat.toml` in the
    /// current folder if present; then the environment.
    pub fn load(file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded> {
        let (path, required) = match file {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("justat.toml"), false),
        };
        let mut table = toml::Table::new();
        let mut file_read = None;
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            table = text
                .parse::<toml::Table>()
                .with_context(|| format!("{} is not valid TOML", path.display()))?;
            for key in table.keys() {
                if !KEYS.contains(&key.as_str()) {
                    bail!(
                        "{}: unknown key `{key}`; the keys are: {}",
                        path.display(),
                        KEYS.join(", ")
                    );
                }
            }
            file_read = Some(path);
        } else if required {
            bail!("configuration file {} does not exist", path.display());
        }
        let mut origins = Vec::new();
        let defaults =
            toml::Table::try_from(Config::default()).expect("the default configuration serialises");
        for key in KEYS {
            let var = format!("JUSTAT_{}", key.to_uppercase());
            if let Some(raw) = env(&var) {
                let value = parse_env_value(&defaults[*key], &raw)
                    .with_context(|| format!("environment variable {var}={raw:?} is not valid"))?;
                table.insert((*key).to_string(), value);
                origins.push((*key, Origin::Env));
            } else if table.contains_key(*key) {
                origins.push((*key, Origin::File));
            } else {
                origins.push((*key, Origin::Default));
            }
        }
        let where_ = file_read
            .as_ref()
            .map_or("the environment".to_string(), |p| {
                format!("{} or the environment", p.display())
            });
        let config: Config = table
            .try_into()
            .with_context(|| format!("invalid configuration in {where_}"))?;
        config.check()?;
        Ok(Loaded {
            config,
            origins,
            file: file_read,
        })
    }

    fn check(&self) -> Result<()> {
        if !self.database_url.is_empty()
            && justat_store::Backend::of_url(&self.database_url).is_none()
        {
            bail!(
                "database_url `{}` is not supported: use sqlite://PATH or postgres://USER@HOST/DB",
                justat_store::redact_url(&self.database_url)
            );
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            bail!(
                "listen `{}` is not an address like 127.0.0.1:8080",
                self.listen
            );
        }
        if !(self.public_url.is_empty()
            || self.public_url.starts_with("https://")
            || self.public_url.starts_with("http://"))
        {
            bail!(
                "public_url `{}` is not an address like https://statistiques.justice.gouv.fr",
                self.public_url
            );
        }
        if self.trusted_proxy_hops == 0 {
            bail!(
                "trusted_proxy_hops must be at least 1 (to ignore X-Forwarded-For, set trust_forwarded_for = false)"
            );
        }
        if self.session_idle_minutes == 0 || self.session_absolute_hours == 0 {
            bail!("session_idle_minutes and session_absolute_hours must be at least 1");
        }
        if self.worker_memory_mib != 0 && self.worker_memory_mib < MIN_WORKER_MEMORY_MIB {
            bail!(
                "worker_memory_mib = {} is too small for a worker to start: 0 (no limit) or at least {MIN_WORKER_MEMORY_MIB}",
                self.worker_memory_mib
            );
        }
        if self.max_record_kib == 0
            || self.max_decompressed_gib == 0
            || self.max_compression_ratio == 0
            || self.max_rows == 0
        {
            bail!(
                "max_record_kib, max_decompressed_gib, max_compression_ratio and max_rows must be at least 1"
            );
        }
        self.calendar_policy()?;
        if !self.smtp_host.is_empty() {
            // Checked now rather than at the first send, which may be days later.
            justat_mail::Sender::new(&self.smtp_settings()).context(
                "the SMTP keys (smtp_host, smtp_port, smtp_starttls, mail_from, mail_reply_to)",
            )?;
        }
        Ok(())
    }

    /// Where and how survey messages are sent, from the `smtp_*` and `mail_*` keys.
    pub fn smtp_settings(&self) -> justat_mail::SmtpSettings {
        justat_mail::SmtpSettings {
            host: self.smtp_host.clone(),
            port: self.smtp_port,
            starttls: self.smtp_starttls,
            timeout: SMTP_TIMEOUT,
            from: self.mail_from.clone(),
            reply_to: Some(self.mail_reply_to.clone()).filter(|r| !r.is_empty()),
        }
    }

    /// The effective configuration as `JUSTAT_*` variables, for a process that must run with
    /// exactly this configuration whatever its folder and files (the worker `serve` starts).
    pub fn to_env(&self) -> Result<Vec<(String, String)>> {
        let table = toml::Table::try_from(self).context("cannot write the configuration out")?;
        Ok(KEYS
            .iter()
            .map(|key| {
                let value = match &table[*key] {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (format!("JUSTAT_{}", key.to_uppercase()), value)
            })
            .collect())
    }

    /// What reading one delivery may cost, from the `max_record_kib`, `max_decompressed_gib`,
    /// `max_compression_ratio` and `max_rows` keys.
    pub fn read_limits(&self) -> ReadLimits {
        ReadLimits {
            max_record_bytes: u64::from(self.max_record_kib) << 10,
            max_decompressed_bytes: u64::from(self.max_decompressed_gib) << 30,
            max_compression_ratio: u64::from(self.max_compression_ratio),
            max_rows: self.max_rows,
        }
    }

    /// The rules of the release calendar: essential collections and standard release times.
    pub fn calendar_policy(&self) -> Result<CalendarPolicy> {
        let mut policy = CalendarPolicy {
            essential: Vec::new(),
            ..CalendarPolicy::default()
        };
        for slug in self.essential_collections.split(',').map(str::trim) {
            if !slug.is_empty() {
                policy
                    .essential
                    .push(slug.parse().context("essential_collections")?);
            }
        }
        let time = |t: &str| -> Result<(i8, i8)> {
            let (h, m) = t
                .trim()
                .split_once(':')
                .with_context(|| format!("release_times: `{t}` is not a time written HH:MM"))?;
            let (h, m): (i8, i8) = (h.parse()?, m.parse()?);
            if !(0..24).contains(&h) || !(0..60).contains(&m) {
                bail!("release_times: `{t}` is not a time of day");
            }
            Ok((h, m))
        };
        // The time for every collection first, then the overrides, whatever their order.
        let mut parts: Vec<&str> = self.release_times.split(',').map(str::trim).collect();
        parts.sort_by_key(|p| p.contains('='));
        for part in parts {
            match part.split_once('=') {
                Some((c, t)) => {
                    let c: Collection = c.trim().parse().context("release_times")?;
                    let (h, m) = time(t)?;
                    policy.standard_time.retain(|(k, ..)| *k != c);
                    policy.standard_time.push((c, h, m));
                }
                None if part.is_empty() => {}
                None => {
                    let (h, m) = time(part)?;
                    for entry in &mut policy.standard_time {
                        (entry.1, entry.2) = (h, m);
                    }
                }
            }
        }
        let mut parts: Vec<&str> = self.embargo_hours.split(',').map(str::trim).collect();
        parts.sort_by_key(|p| p.contains('='));
        let hours = |h: &str| -> Result<i64> {
            let h: i64 = h
                .trim()
                .parse()
                .with_context(|| format!("embargo_hours: `{h}` is not a number of hours"))?;
            if !(1..=justat_model::embargo::MAX_WINDOW_HOURS).contains(&h) {
                bail!("embargo_hours: an embargo window lasts 1 to 24 hours, not {h}");
            }
            Ok(h)
        };
        for part in parts {
            match part.split_once('=') {
                Some((c, h)) => {
                    let c: Collection = c.trim().parse().context("embargo_hours")?;
                    let h = hours(h)?;
                    policy.embargo_hours.retain(|(k, _)| *k != c);
                    policy.embargo_hours.push((c, h));
                }
                None if part.is_empty() => {}
                None => {
                    let h = hours(part)?;
                    for entry in &mut policy.embargo_hours {
                        entry.1 = h;
                    }
                }
            }
        }
        Ok(policy)
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            justat_store::sqlite_url(&self.data_dir)
        } else {
            self.database_url.clone()
        }
    }

    /// Where the audit log's checkpoints are signed and kept; `None` without `audit_key`.
    pub fn checkpoints(&self) -> Option<justat_store::CheckpointConfig> {
        if self.audit_key.as_os_str().is_empty() {
            return None;
        }
        Some(justat_store::CheckpointConfig {
            key: self.audit_key.clone(),
            dir: self.checkpoint_dir(),
        })
    }

    /// The folder of the signed checkpoints.
    pub fn checkpoint_dir(&self) -> PathBuf {
        if self.audit_checkpoint_dir.as_os_str().is_empty() {
            self.data_dir.join("audit-checkpoints")
        } else {
            self.audit_checkpoint_dir.clone()
        }
    }

    /// Whether cookies get the `Secure` flag.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Parses an environment value as the type of the default value of its key.
fn parse_env_value(default: &toml::Value, raw: &str) -> Result<toml::Value> {
    Ok(match default {
        toml::Value::Boolean(_) => match raw {
            "true" | "1" | "yes" => toml::Value::Boolean(true),
            "false" | "0" | "no" => toml::Value::Boolean(false),
            _ => bail!("expected true or false"),
        },
        toml::Value::Integer(_) => {
            toml::Value::Integer(raw.parse().context("expected a whole number")?)
        }
        _ => toml::Value::String(raw.to_string()),
    })
}

impl Loaded {
    /// The effective configuration as TOML, each key annotated with its origin, passwords
    /// hidden.
    pub fn render(&self) -> String {
        let mut shown = self.config.clone();
        shown.database_url = justat_store::redact_url(&self.config.database_url());
        let table = toml::Table::try_from(&shown).expect("the configuration serialises");
        let mut out = String::new();
        match &self.file {
            Some(f) => out.push_str(&format!("# configuration file: {}\n", f.display())),
            None => out.push_str("# no configuration file (justat.toml not found)\n"),
        }
        for (key, origin) in &self.origins {
            let origin = match origin {
                Origin::Default => "default".to_string(),
                Origin::File => "file".to_string(),
                Origin::Env => format!("env JUSTAT_{}", key.to_uppercase()),
            };
            let mut one = toml::Table::new();
            one.insert((*key).to_string(), table[*key].clone());
            out.push_str(&format!(
                "{}  # {origin}\n",
                toml::to_string(&one).expect("serialises").trim_end()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn mail_sends_nowhere_until_configured_and_its_keys_are_checked_when_loaded() {
        let c = Config::default();
        assert!(c.check().is_ok());
        let e = justat_mail::Sender::new(&c.smtp_settings()).unwrap_err();
        assert!(e.to_string().contains("smtp_host"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("justat.toml");
        std::fs::write(
            &file,
            "smtp_host = \"127.0.0.1\"\nsmtp_port = 2525\nmail_from = \"enquetes@justice.example\"\n",
        )
        .unwrap();
        let loaded = Config::load(Some(&file), &no_env).unwrap();
        let settings = loaded.config.smtp_settings();
        assert_eq!((settings.host.as_str(), settings.port), ("127.0.0.1", 2525));
        assert_eq!(settings.reply_to, None);
        assert!(justat_mail::Sender::new(&settings).is_ok());
        let env = |k: &str| match k {
            "JUSTAT_MAIL_FROM" => Some(String::new()),
            _ => None,
        };
        let err = format!("{:#}", Config::load(Some(&file), &env).unwrap_err());
        assert!(err.contains("mail_from"), "{err}");
        let env = |k: &str| (k == "JUSTAT_SMTP_STARTTLS").then(|| "true".to_string());
        let err = format!("{:#}", Config::load(Some(&file), &env).unwrap_err());
        assert!(err.contains("smtp_starttls"), "{err}");
        let env = |k: &str| (k == "JUSTAT_SMTP_PORT").then(|| "70000".to_string());
        assert!(
            Config::load(Some(&file), &env).is_err(),
            "a port beyond 65535"
        );
    }

    #[test]
    fn a_public_url_needs_its_scheme() {
        let mut c = Config::default();
        assert!(
            c.check().is_ok(),
            "empty: the address the server listens on"
        );
        c.public_url = "statistiques.justice.gouv.fr".into();
        assert!(c.check().is_err());
        c.public_url = "https://statistiques.justice.gouv.fr".into();
        assert!(c.check().is_ok());
    }

    #[test]
    fn defaults_work_on_a_laptop() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        assert!(Config::load(Some(&missing), &no_env).is_err());
        let c = Config::default();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.database_url(), "sqlite://./justat-data/justat.db");
    }

    #[test]
    fn the_number_of_trusted_proxies_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("justat.toml");
        std::fs::write(
            &file,
            "trust_forwarded_for = true\ntrusted_proxy_hops = 2\n",
        )
        .unwrap();
        let loaded = Config::load(Some(&file), &no_env).unwrap();
        assert_eq!(loaded.config.trusted_proxy_hops, 2);
        assert_eq!(Config::default().trusted_proxy_hops, 1);
        let zero = |k: &str| (k == "JUSTAT_TRUSTED_PROXY_HOPS").then(|| "0".to_string());
        let err = Config::load(Some(&file), &zero).unwrap_err();
        assert!(format!("{err:#}").contains("trusted_proxy_hops"), "{err:#}");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("justat.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nsession_idle_minutes = 10\n",
        )
        .unwrap();
        let env = |k: &str| match k {
            "JUSTAT_LISTEN" => Some("127.0.0.1:9100".to_string()),
            "JUSTAT_DATABASE_URL" => Some("postgres://u:secret@db/justat".to_string()),
            "JUSTAT_TRUST_FORWARDED_FOR" => Some("true".to_string()),
            _ => None,
        };
        let loaded = Config::load(Some(&file), &env).unwrap();
        assert_eq!(loaded.config.listen, "127.0.0.1:9100");
        assert_eq!(loaded.config.session_idle_minutes, 10);
        assert!(loaded.config.trust_forwarded_for);
        let shown = loaded.render();
        assert!(
            shown.contains("listen = \"127.0.0.1:9100\"  # env JUSTAT_LISTEN"),
            "{shown}"
        );
        assert!(
            shown.contains("session_idle_minutes = 10  # file"),
            "{shown}"
        );
        assert!(shown.contains("u:***@db"), "{shown}");
        assert!(!shown.contains("secret"));
    }

    #[test]
    fn the_environment_carries_the_whole_configuration() {
        let config = Config {
            data_dir: PathBuf::from("/srv/justat data"),
            start_worker: false,
            worker_memory_mib: 512,
            release_times: "infos-rapides=08:45, 09:30".into(),
            ..Config::default()
        };
        let env = config.to_env().unwrap();
        assert_eq!(env.len(), KEYS.len());
        let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let loaded = Config::load(None, &lookup).unwrap();
        assert_eq!(loaded.config, config);
        let env = |k: &str| (k == "JUSTAT_WORKER_MEMORY_MIB").then(|| "16".to_string());
        let err = format!("{:#}", Config::load(None, &env).unwrap_err());
        assert!(err.contains("worker_memory_mib = 16"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("justat.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&file), &no_env).unwrap_err());
        assert!(err.contains("unknown key `lisen`"), "{err}");
        let env = |k: &str| (k == "JUSTAT_SESSION_IDLE_MINUTES").then(|| "soon".to_string());
        let err = format!("{:#}", Config::load(None, &env).unwrap_err());
        assert!(
            err.contains("JUSTAT_SESSION_IDLE_MINUTES=\"soon\""),
            "{err}"
        );
        let env = |k: &str| (k == "JUSTAT_DATABASE_URL").then(|| "mysql://x".to_string());
        assert!(format!("{:#}", Config::load(None, &env).unwrap_err()).contains("not supported"));
    }

    #[test]
    fn the_read_limits_default_to_the_engines_and_follow_the_keys() {
        assert_eq!(Config::default().read_limits(), ReadLimits::DEFAULT);
        let env = |k: &str| match k {
            "JUSTAT_MAX_RECORD_KIB" => Some("64".to_string()),
            "JUSTAT_MAX_ROWS" => Some("1000".to_string()),
            _ => None,
        };
        let limits = Config::load(None, &env).unwrap().config.read_limits();
        assert_eq!((limits.max_record_bytes, limits.max_rows), (64 << 10, 1000));
        let env = |k: &str| (k == "JUSTAT_MAX_COMPRESSION_RATIO").then(|| "0".to_string());
        assert!(Config::load(None, &env).is_err());
    }

    #[test]
    fn the_calendar_policy_reads_collections_and_times() {
        let c = Config {
            essential_collections: "infostat".into(),
            release_times: "infos-rapides=08:45, 09:30".into(),
            ..Config::default()
        };
        let p = c.calendar_policy().unwrap();
        assert_eq!(p.essential, [Collection::Infostat]);
        assert_eq!(p.standard_time(Collection::InfosRapides), (8, 45));
        assert_eq!(p.standard_time(Collection::ChiffresCles), (9, 30));
        for bad in ["25:00", "12h", "infos=12:00"] {
            let c = Config {
                release_times: bad.into(),
                ..Config::default()
            };
            assert!(c.calendar_policy().is_err(), "{bad}");
        }
        let c = Config {
            essential_collections: "chiffres".into(),
            ..Config::default()
        };
        assert!(c.calendar_policy().is_err());
        let c = Config {
            embargo_hours: "infos-rapides=2,12".into(),
            ..Config::default()
        };
        let p = c.calendar_policy().unwrap();
        assert_eq!(p.embargo_hours(Collection::InfosRapides), 2);
        assert_eq!(p.embargo_hours(Collection::Infostat), 12);
        for bad in ["48", "0", "infostat=25", "x"] {
            let c = Config {
                embargo_hours: bad.into(),
                ..Config::default()
            };
            assert!(c.calendar_policy().is_err(), "{bad}");
        }
    }
}
