//! `justat mail-sink`: an SMTP server on loopback that writes every message it receives into
//! a folder (for the demo and for trying a configuration), and `justat mail-test`: one trial
//! message sent through the configured SMTP server.

use crate::config::Config;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The sink's options.
#[derive(clap::Args)]
pub struct SinkArgs {
    /// The loopback address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:2525")]
    listen: SocketAddr,
    /// The folder the messages are written into, one `NNNNNN.eml` file each.
    #[arg(long)]
    dir: PathBuf,
    /// The largest message accepted, in KiB.
    #[arg(long, default_value_t = 10_240)]
    max_message_kib: usize,
}

/// Serves until interrupted (Ctrl-C or SIGTERM).
pub async fn sink(args: SinkArgs) -> Result<ExitCode> {
    let limits = justat_mail::SinkLimits {
        max_message_bytes: args.max_message_kib.saturating_mul(1024),
        ..justat_mail::SinkLimits::default()
    };
    let sink = justat_mail::MailSink::bind(args.listen, &args.dir, limits).await?;
    let addr = sink.local_addr()?;
    // The line a script waits for before sending.
    println!(
        "mail sink listening on {addr}, writing messages into {}",
        args.dir.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch for SIGTERM")?;
    tokio::select! {
        served = sink.run() => served?,
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The trial message's options.
#[derive(clap::Args)]
pub struct TestArgs {
    /// The address the trial message is sent to.
    #[arg(long)]
    to: String,
}

/// Sends one trial message through the configured server and says what became of it.
pub async fn test(config: &Config, args: TestArgs) -> Result<ExitCode> {
    let sender = justat_mail::Sender::new(&config.smtp_settings())?;
    let outgoing = justat_mail::Outgoing {
        to: args.to,
        message: justat_mail::message::trial(),
    };
    sender.send(&outgoing).await?;
    println!(
        "sent a trial message to {} through {}:{}",
        outgoing.to, config.smtp_host, config.smtp_port
    );
    Ok(ExitCode::SUCCESS)
}
