//! An SMTP sink on loopback for the demo and the tests: it accepts every message (HELO/EHLO,
//! MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT) and writes each into a
//! folder as an `.eml` file, its envelope first as `Return-Path:` and `Delivered-To:` lines.
//! It listens on loopback only: it writes whatever arrives to disk, and relays nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// The longest command line (RFC 5321 §4.5.3.1.4: 512 octets; a little room for extensions).
const MAX_COMMAND_LINE: usize = 1_024;
/// The longest text line of a message (RFC 5321: 1,000 octets with CRLF); longer ones are
/// accepted up to this, since the sink is for reading what a sender produced.
const MAX_DATA_LINE: usize = 64 * 1_024;
/// The name the sink gives itself in its greetings.
const NAME: &str = "justat-mail-sink";

/// What one connection and one message may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkLimits {
    /// The largest message, in bytes (announced as `SIZE`; a larger one is refused with 552).
    pub max_message_bytes: usize,
    /// The most recipients of one message.
    pub max_recipients: usize,
    /// How long a client may stay silent before the sink closes the connection.
    pub idle_timeout: Duration,
    /// The most connections served at once; further ones wait.
    pub max_connections: usize,
}

impl Default for SinkLimits {
    fn default() -> Self {
        SinkLimits {
            max_message_bytes: 10 * 1024 * 1024,
            max_recipients: 100,
            idle_timeout: Duration::from_secs(300),
            max_connections: 64,
        }
    }
}

/// Why the sink cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The address is not on loopback.
    #[error(
        "the mail sink listens on loopback only (127.0.0.1 or ::1), not {addr}: it writes whatever arrives to disk"
    )]
    NotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The folder cannot be created or read.
    #[error("cannot use the folder {}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Accepting connections failed.
    #[error("cannot accept connections")]
    Accept(#[source] std::io::Error),
}

/// A bound SMTP sink, not yet serving.
#[derive(Debug)]
pub struct MailSink {
    listener: TcpListener,
    store: Arc<Folder>,
    limits: SinkLimits,
}

impl MailSink {
    /// Listens on `addr` (loopback only; port 0 picks a free port) and writes into `dir`,
    /// created if missing. Files already there are kept; new ones are numbered after them.
    pub async fn bind(addr: SocketAddr, dir: &Path, limits: SinkLimits) -> Result<Self, SinkError> {
        if !addr.ip().is_loopback() {
            return Err(SinkError::NotLoopback { addr });
        }
        let folder_error = |source| SinkError::Folder {
            path: dir.to_path_buf(),
            source,
        };
        tokio::fs::create_dir_all(dir).await.map_err(folder_error)?;
        let mut last = 0;
        let mut entries = tokio::fs::read_dir(dir).await.map_err(folder_error)?;
        while let Some(e) = entries.next_entry().await.map_err(folder_error)? {
            if let Some(n) = e
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".eml"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                last = last.max(n);
            }
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SinkError::Bind { addr, source })?;
        Ok(MailSink {
            listener,
            store: Arc::new(Folder {
                dir: dir.to_path_buf(),
                next: AtomicU64::new(last + 1),
            }),
            limits,
        })
    }

    /// The address it listens on (with the port chosen when 0 was asked).
    pub fn local_addr(&self) -> Result<SocketAddr, SinkError> {
        self.listener.local_addr().map_err(SinkError::Accept)
    }

    /// Serves until the task running it is dropped; a connection's failure ends only that
    /// connection.
    pub async fn run(self) -> Result<(), SinkError> {
        let slots = Arc::new(Semaphore::new(self.limits.max_connections.max(1)));
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return Ok(());
            };
            let (stream, _) = self.listener.accept().await.map_err(SinkError::Accept)?;
            let store = self.store.clone();
            let limits = self.limits;
            tokio::spawn(async move {
                if let Err(e) = serve(stream, &store, limits).await {
                    tracing::warn!(error = %e, "mail sink: a connection ended on an error");
                }
                drop(permit);
            });
        }
    }
}

/// The folder messages are written into, and the next file number.
#[derive(Debug)]
struct Folder {
    dir: PathBuf,
    next: AtomicU64,
}

impl Folder {
    /// Writes one message under the next free number, whole or not at all: it is written
    /// under a `.part` name and renamed, so a reader never sees half a message.
    async fn write(&self, bytes: Vec<u8>) -> std::io::Result<String> {
        loop {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let name = format!("{n:06}.eml");
            let path = self.dir.join(&name);
            let part = self.dir.join(format!("{n:06}.eml.part"));
            if tokio::fs::try_exists(&path).await? {
                continue;
            }
            let mut file = match tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&part)
                .await
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            file.write_all(&bytes).await?;
            file.sync_all().await?;
            tokio::fs::rename(&part, &path).await?;
            return Ok(name);
        }
    }
}

/// The envelope of the message under way.
#[derive(Debug, Default)]
struct Envelope {
    from: Option<String>,
    to: Vec<String>,
}

/// One SMTP command, as the sink understands it.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Helo,
    Ehlo,
    Mail { path: String, size: Option<usize> },
    Rcpt { path: String },
    Data,
    Rset,
    Noop,
    Quit,
    StartTls,
    Unknown,
    Syntax,
}

/// The command of one line (without its CRLF).
fn parse(line: &str) -> Command {
    let verb: String = line
        .split([' ', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    let rest = &line[verb.len().min(line.len())..];
    match verb.as_str() {
        "HELO" => Command::Helo,
        "EHLO" => Command::Ehlo,
        "MAIL" => match path_after(rest, "FROM:") {
            Some((path, params)) => {
                let size = params
                    .split_ascii_whitespace()
                    .find_map(|p| {
                        p.to_ascii_uppercase()
                            .strip_prefix("SIZE=")
                            .map(String::from)
                    })
                    .and_then(|s| s.parse().ok());
                Command::Mail { path, size }
            }
            None => Command::Syntax,
        },
        "RCPT" => match path_after(rest, "TO:") {
            Some((path, _)) if !path.is_empty() => Command::Rcpt { path },
            _ => Command::Syntax,
        },
        "DATA" => Command::Data,
        "RSET" => Command::Rset,
        "NOOP" => Command::Noop,
        "QUIT" => Command::Quit,
        "STARTTLS" => Command::StartTls,
        _ => Command::Unknown,
    }
}

/// `<path>` and the parameters after `FROM:`/`TO:` (case-insensitive, spaces allowed).
fn path_after(rest: &str, keyword: &str) -> Option<(String, String)> {
    let rest = rest.trim_start();
    if rest.len() < keyword.len() || !rest[..keyword.len()].eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = rest[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some((
        inner[..end].to_string(),
        inner[end + 1..].trim().to_string(),
    ))
}

/// What became of reading one line.
enum Line {
    Text(Vec<u8>),
    TooLong,
    Closed,
}

/// Reads one line (up to LF, CRLF removed), never holding more than `max` bytes of it.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
    idle: Duration,
) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    let mut limited = reader.take(max as u64 + 1);
    let n = tokio::time::timeout(idle, limited.read_until(b'\n', &mut buf))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client idle"))??;
    if n == 0 {
        return Ok(Line::Closed);
    }
    if buf.last() != Some(&b'\n') {
        if buf.len() > max {
            // Skip the rest of the line so that the next read starts on a fresh one.
            let mut sink = Vec::new();
            tokio::time::timeout(idle, reader.read_until(b'\n', &mut sink))
                .await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client idle"))??;
            return Ok(Line::TooLong);
        }
        // The peer closed in the middle of a line.
        return Ok(Line::Closed);
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Line::Text(buf))
}

/// One SMTP session.
async fn serve(stream: TcpStream, store: &Folder, limits: SinkLimits) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut reply = async |text: String| write.write_all(format!("{text}\r\n").as_bytes()).await;
    reply(format!("220 {NAME} ESMTP ready")).await?;
    let mut greeted = false;
    let mut envelope = Envelope::default();
    loop {
        let line = match read_line(&mut reader, MAX_COMMAND_LINE, limits.idle_timeout).await {
            Ok(Line::Text(l)) => l,
            Ok(Line::TooLong) => {
                reply("500 5.5.2 line too long".into()).await?;
                continue;
            }
            Ok(Line::Closed) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                reply("421 4.4.2 idle too long, closing".into()).await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let line = String::from_utf8_lossy(&line).into_owned();
        match parse(&line) {
            Command::Helo => {
                greeted = true;
                envelope = Envelope::default();
                reply(format!("250 {NAME}")).await?;
            }
            Command::Ehlo => {
                greeted = true;
                envelope = Envelope::default();
                reply(format!(
                    "250-{NAME}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE {}",
                    limits.max_message_bytes
                ))
                .await?;
            }
            Command::Mail { .. } if !greeted => {
                reply("503 5.5.1 say HELO or EHLO first".into()).await?
            }
            Command::Mail { .. } if envelope.from.is_some() => {
                reply("503 5.5.1 a message is already under way (RSET first)".into()).await?
            }
            Command::Mail { size: Some(s), .. } if s > limits.max_message_bytes => {
                reply(format!(
                    "552 5.3.4 message larger than {} bytes",
                    limits.max_message_bytes
                ))
                .await?
            }
            Command::Mail { path, .. } => {
                envelope.from = Some(path);
                reply("250 2.1.0 sender ok".into()).await?;
            }
            Command::Rcpt { .. } if envelope.from.is_none() => {
                reply("503 5.5.1 MAIL FROM first".into()).await?
            }
            Command::Rcpt { .. } if envelope.to.len() >= limits.max_recipients => {
                reply(format!(
                    "452 4.5.3 more than {} recipients",
                    limits.max_recipients
                ))
                .await?
            }
            Command::Rcpt { path } => {
                envelope.to.push(path);
                reply("250 2.1.5 recipient ok".into()).await?;
            }
            Command::Data if envelope.to.is_empty() => {
                reply("503 5.5.1 RCPT TO first".into()).await?
            }
            Command::Data => {
                reply("354 end data with <CR><LF>.<CR><LF>".into()).await?;
                let body = read_data(&mut reader, limits).await?;
                let taken = std::mem::take(&mut envelope);
                match body {
                    Data::Closed => return Ok(()),
                    Data::TooLarge => {
                        reply(format!(
                            "552 5.3.4 message larger than {} bytes",
                            limits.max_message_bytes
                        ))
                        .await?
                    }
                    Data::Message(bytes) => {
                        let mut file =
                            format!("Return-Path: <{}>\r\n", taken.from.unwrap_or_default())
                                .into_bytes();
                        for to in &taken.to {
                            file.extend_from_slice(format!("Delivered-To: <{to}>\r\n").as_bytes());
                        }
                        file.extend_from_slice(&bytes);
                        match store.write(file).await {
                            Ok(name) => reply(format!("250 2.0.0 queued as {name}")).await?,
                            Err(e) => {
                                tracing::warn!(error = %e, "mail sink: cannot write a message");
                                reply("451 4.3.0 cannot write the message".into()).await?
                            }
                        }
                    }
                }
            }
            Command::Rset => {
                envelope = Envelope::default();
                reply("250 2.0.0 reset".into()).await?;
            }
            Command::Noop => reply("250 2.0.0 ok".into()).await?,
            Command::Quit => {
                reply(format!("221 2.0.0 {NAME} closing")).await?;
                return Ok(());
            }
            Command::StartTls => reply("502 5.5.1 no TLS in this sink".into()).await?,
            Command::Syntax => {
                reply("501 5.5.4 syntax: MAIL FROM:<address>, RCPT TO:<address>".into()).await?
            }
            Command::Unknown => reply("500 5.5.2 command not recognized".into()).await?,
        }
    }
}

/// What a DATA section gave.
enum Data {
    Message(Vec<u8>),
    TooLarge,
    Closed,
}

/// Reads a message up to the line holding a single `.`, undoing the dot-stuffing (a line
/// starting with `.` was sent with one more); past the size limit the rest is read and dropped.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    limits: SinkLimits,
) -> std::io::Result<Data> {
    let mut message = Vec::new();
    let mut too_large = false;
    loop {
        let line = match read_line(reader, MAX_DATA_LINE, limits.idle_timeout).await? {
            Line::Closed => return Ok(Data::Closed),
            Line::TooLong => {
                too_large = true;
                continue;
            }
            Line::Text(l) => l,
        };
        if line == b"." {
            return Ok(if too_large {
                Data::TooLarge
            } else {
                Data::Message(message)
            });
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if message.len() + line.len() + 2 > limits.max_message_bytes {
            too_large = true;
            message = Vec::new();
        }
        if !too_large {
            message.extend_from_slice(line);
            message.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_parsed_whatever_their_case_and_spacing() {
        assert_eq!(parse("ehlo client"), Command::Ehlo);
        assert_eq!(parse("HELO x"), Command::Helo);
        assert_eq!(
            parse("MAIL FROM:<a@b.example> SIZE=1200 BODY=8BITMIME"),
            Command::Mail {
                path: "a@b.example".into(),
                size: Some(1200)
            }
        );
        assert_eq!(
            parse("mail from: <>"),
            Command::Mail {
                path: String::new(),
                size: None
            }
        );
        assert_eq!(
            parse("RCPT TO:<tj.lyon@justice.example>"),
            Command::Rcpt {
                path: "tj.lyon@justice.example".into()
            }
        );
        assert_eq!(parse("RCPT TO:<>"), Command::Syntax);
        assert_eq!(parse("MAIL FROM a@b"), Command::Syntax);
        assert_eq!(parse("RCPT TO:no-brackets"), Command::Syntax);
        for (l, c) in [
            ("DATA", Command::Data),
            ("rset", Command::Rset),
            ("NOOP", Command::Noop),
            ("QUIT", Command::Quit),
            ("STARTTLS", Command::StartTls),
            ("VRFY x", Command::Unknown),
            ("", Command::Unknown),
        ] {
            assert_eq!(parse(l), c, "{l}");
        }
    }

    async fn data(input: &[u8], max: usize) -> Data {
        let mut reader = BufReader::new(input);
        let limits = SinkLimits {
            max_message_bytes: max,
            ..SinkLimits::default()
        };
        read_data(&mut reader, limits).await.unwrap()
    }

    #[tokio::test]
    async fn data_is_dot_unstuffed_up_to_the_lone_dot() {
        let Data::Message(m) =
            data(b"Subject: x\r\n\r\n..leading dot\r\n.\r\nNOOP\r\n", 1000).await
        else {
            panic!("no message");
        };
        assert_eq!(m, b"Subject: x\r\n\r\n.leading dot\r\n");
        // A bare LF ends a line too.
        let Data::Message(m) = data(b"a\n.\n", 1000).await else {
            panic!("no message");
        };
        assert_eq!(m, b"a\r\n");
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_refused_and_one_at_it_kept() {
        // "12345678\r\n" is 10 bytes.
        assert!(matches!(
            data(b"12345678\r\n.\r\n", 10).await,
            Data::Message(_)
        ));
        assert!(matches!(
            data(b"123456789\r\n.\r\n", 10).await,
            Data::TooLarge
        ));
        assert!(matches!(data(b"12345678\r\n", 10).await, Data::Closed));
    }
}
