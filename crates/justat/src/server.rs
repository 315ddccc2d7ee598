//! The server: the web application on the configured address until interrupted, with its
//! worker process (`crate::worker`) and its tasks by the clock (`crate::scheduler`). `justat
//! serve` and `justat demo` run it.

use crate::config::Config;
use anyhow::{Context, Result};
use jiff::SignedDuration;
use justat_model::SessionPolicy;
use justat_store::Store;
use justat_web::{AppState, WebConfig};

/// The web application's settings; `addr` is the address the server listens on, the site's
/// address for feeds and the sitemap when `public_url` is not configured.
fn web_config(config: &Config, addr: std::net::SocketAddr) -> WebConfig {
    WebConfig {
        // Checked when the configuration was loaded.
        calendar: config.calendar_policy().unwrap_or_default(),
        session: SessionPolicy {
            idle: SignedDuration::from_mins(i64::from(config.session_idle_minutes)),
            absolute: SignedDuration::from_hours(i64::from(config.session_absolute_hours)),
        },
        secure_cookies: config.secure_cookies(),
        trust_forwarded_for: config.trust_forwarded_for,
        trusted_proxy_hops: config.trusted_proxy_hops as usize,
        max_body_bytes: config.max_body_kib as usize * 1024,
        max_upload_bytes: config.max_upload_mib as usize * 1024 * 1024,
        upload_dir: config.data_dir.join("uploads"),
        data_dir: config.data_dir.clone(),
        public_url: public_url(config, addr),
        publish_embargo_names: config.embargo_publish_names,
        surveys_dir: config.surveys_dir.clone(),
        survey_contact: if config.mail_reply_to.is_empty() {
            config.mail_from.clone()
        } else {
            config.mail_reply_to.clone()
        },
        cache: justat_web::cache::CacheSettings {
            enabled: config.public_cache_mib > 0,
            max_bytes: config.public_cache_mib as usize * 1024 * 1024,
            poll: std::time::Duration::from_millis(u64::from(config.public_cache_poll_ms)),
            ..justat_web::cache::CacheSettings::default()
        },
        ..WebConfig::default()
    }
}

/// The site's address: the configured `public_url`, or `http://` and the address the server
/// listens on (loopback for an unspecified address such as `0.0.0.0`) — never a request's
/// `Host`, which the client chooses.
fn public_url(config: &Config, addr: std::net::SocketAddr) -> String {
    let configured = config.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{addr}");
    if !config.listen.starts_with("127.") && !config.listen.starts_with("[::1]") {
        tracing::warn!(
            public_url = %url,
            "public_url is not set: feeds and the sitemap name {url}; set public_url to the address users reach"
        );
    }
    url
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve(config: &Config) -> Result<()> {
    let store = crate::db::open_store(config).await?;
    serve_store(config, store).await
}

/// Serves an already opened store.
pub async fn serve_store(config: &Config, store: Store) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (in use? set listen / JUSTAT_LISTEN)",
                config.listen
            )
        })?;
    let addr = listener.local_addr()?;
    crate::db::warn_missing_guards(&store).await?;
    if config.trust_forwarded_for && !addr.ip().is_loopback() {
        // The proxy's entry is only the proxy's when nobody else can reach the server.
        tracing::warn!(
            %addr,
            "trust_forwarded_for is on while listening beyond loopback: a client reaching this \
             address directly chooses the address it is throttled and logged under; listen where \
             only the proxy reaches"
        );
    }
    let web = web_config(config, addr);
    let policy = web.session;
    let purger = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match purger.purge_sessions(&policy, jiff::Timestamp::now()).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired sessions deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session purge failed"),
            }
        }
    });
    // Jobs run in a worker process, so that their memory, CPU and faults stay out of the
    // process that serves the public.
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let supervisor = config.start_worker.then(|| {
        tokio::spawn(crate::worker::supervise(
            store.clone(),
            config.clone(),
            async {
                // A stop signal reaches the worker too: from then on it is not restarted.
                tokio::select! {
                    _ = worker_stopped => {}
                    () = shutdown_signal() => {}
                }
            },
        ))
    });
    tokio::spawn(crate::scheduler::releases(store.clone()));
    tokio::spawn(crate::scheduler::daily_checkpoints(store.clone()));
    // Checked when the configuration was loaded; a sender is only made when a server is set.
    let mail_sender = if config.smtp_host.is_empty() {
        None
    } else {
        Some(justat_mail::Sender::new(&config.smtp_settings()).context("the SMTP keys")?)
    };
    tokio::spawn(crate::scheduler::survey_reminders(
        store.clone(),
        mail_sender,
        web.public_url.clone(),
    ));
    println!("listening on http://{addr}");
    tracing::info!(%addr, database = %justat_store::redact_url(&config.database_url()), "justat serving");
    let state = AppState::new(store.clone(), web, crate::jobs::catalog());
    justat_web::serve(listener, state, shutdown_signal())
        .await
        .context("server failed")?;
    let _ = stop_worker.send(());
    if let Some(supervisor) = supervisor {
        let _ = supervisor.await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sites_address_is_the_configured_one_or_the_listening_one() {
        let mut config = Config::default();
        let addr = |a: &str| a.parse::<std::net::SocketAddr>().unwrap();
        assert_eq!(
            public_url(&config, addr("127.0.0.1:8080")),
            "http://127.0.0.1:8080"
        );
        // Listening on every interface: the loopback address, which a visitor cannot be
        // sent to elsewhere (set `public_url`).
        assert_eq!(
            public_url(&config, addr("0.0.0.0:9000")),
            "http://127.0.0.1:9000"
        );
        config.public_url = "https://statistiques.justice.gouv.fr/".into();
        assert_eq!(
            public_url(&config, addr("0.0.0.0:9000")),
            "https://statistiques.justice.gouv.fr"
        );
    }
}
