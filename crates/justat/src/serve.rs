//! `justat serve`: open and migrate the store, then serve until interrupted.

use crate::config::Config;
use anyhow::{Context, Result};
use jiff::SignedDuration;
use justat_model::SessionPolicy;
use justat_store::Store;
use justat_web::{AppState, WebConfig};
use std::sync::Arc;

/// Opens the configured database and applies its pending migrations.
pub async fn open_store(config: &Config) -> Result<Store> {
    let url = config.database_url();
    let store = Store::open(&url)
        .await
        .context("cannot open the database (check database_url / JUSTAT_DATABASE_URL)")?;
    let applied = store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    for m in applied {
        tracing::info!(version = m.version, name = m.name, "applied migration");
    }
    Ok(store)
}

fn web_config(config: &Config) -> WebConfig {
    WebConfig {
        // Checked when the configuration was loaded.
        calendar: config.calendar_policy().unwrap_or_default(),
        session: SessionPolicy {
            idle: SignedDuration::from_mins(i64::from(config.session_idle_minutes)),
            absolute: SignedDuration::from_hours(i64::from(config.session_absolute_hours)),
        },
        secure_cookies: config.secure_cookies(),
        trust_forwarded_for: config.trust_forwarded_for,
        max_body_bytes: config.max_body_kib as usize * 1024,
        max_upload_bytes: config.max_upload_mib as usize * 1024 * 1024,
        upload_dir: config.data_dir.join("uploads"),
        data_dir: config.data_dir.clone(),
        public_url: config.public_url.trim_end_matches('/').to_string(),
        publish_embargo_names: config.embargo_publish_names,
        ..WebConfig::default()
    }
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve(config: &Config) -> Result<()> {
    let store = open_store(config).await?;
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
    let web = web_config(config);
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
    tokio::spawn(crate::calendar::scheduler(store.clone()));
    println!("listening on http://{addr}");
    tracing::info!(%addr, database = %justat_store::redact_url(&config.database_url()), "justat serving");
    let state = AppState {
        store: store.clone(),
        config: Arc::new(web),
        catalog: Arc::new(crate::jobs::catalog()),
    };
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
