//! Sending composed messages through an SMTP server with `lettre`: one connection per message,
//! a timeout on each, and an outcome per recipient — one failure never stops the others.

use crate::message::Composed;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Where and how to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// The SMTP server's host name or address; empty means no server is configured.
    pub host: String,
    /// Its port (25, 587, or the sink's 2525).
    pub port: u16,
    /// Ask for STARTTLS. This build has no TLS stack, so `true` is refused by [`Sender::new`]:
    /// relay through a local MTA (postfix, …) that encrypts onwards.
    pub starttls: bool,
    /// The most one message may take, connection included.
    pub timeout: Duration,
    /// The sender's address: `enquetes@justice.example`.
    pub from: String,
    /// Where answers go, if not to `from`.
    pub reply_to: Option<String>,
}

/// Why no message can be sent with these settings.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// No SMTP server is configured.
    #[error(
        "aucun serveur SMTP n’est configuré : renseignez smtp_host (et smtp_port, mail_from) dans justat.toml ou JUSTAT_SMTP_HOST"
    )]
    NoServer,
    /// STARTTLS was asked for but this build has no TLS.
    #[error(
        "smtp_starttls est demandé, mais cette version de Justat n’inclut pas TLS : relayez par un serveur de messagerie local (postfix…) qui chiffre vers l’extérieur, et mettez smtp_starttls = false"
    )]
    StartTlsUnavailable,
    /// An address of the settings is not an e-mail address.
    #[error("{field} : « {address} » n’est pas une adresse électronique valide")]
    Address {
        /// `mail_from` or `mail_reply_to`.
        field: &'static str,
        /// The address given.
        address: String,
    },
    /// The timeout is zero.
    #[error("le délai d’envoi d’un message doit être d’au moins une seconde")]
    Timeout,
}

/// Why one message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The recipient's address is not an e-mail address.
    #[error("« {address} » n’est pas une adresse électronique valide")]
    Recipient {
        /// The address given.
        address: String,
    },
    /// The message could not be built (an invalid header value).
    #[error("le message pour « {address} » n’a pas pu être construit")]
    Build {
        /// The recipient.
        address: String,
        /// What lettre said.
        #[source]
        source: lettre::error::Error,
    },
    /// The server refused the message, or the connection or the conversation failed.
    #[error("l’envoi à « {address} » a échoué : {}", if *.permanent { "refus définitif du serveur SMTP" } else { "échec temporaire (serveur injoignable ou refus temporaire), à réessayer" })]
    Smtp {
        /// The recipient.
        address: String,
        /// True when the server's answer was a permanent refusal (5xx): retrying will not help.
        permanent: bool,
        /// What lettre said.
        #[source]
        source: lettre::transport::smtp::Error,
    },
    /// The server did not answer in time.
    #[error("le serveur SMTP n’a pas répondu en {seconds} s pour « {address} »")]
    Timeout {
        /// The recipient.
        address: String,
        /// The timeout.
        seconds: u64,
    },
}

/// One message to send: its recipient and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The recipient's e-mail address.
    pub to: String,
    /// The message.
    pub message: Composed,
}

/// What became of one message.
#[derive(Debug)]
pub struct Outcome {
    /// The recipient's address, as given.
    pub to: String,
    /// Sent, or why not.
    pub result: Result<(), SendError>,
}

/// Sends messages through one SMTP server.
#[derive(Debug, Clone)]
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    timeout: Duration,
}

impl Sender {
    /// A sender for `settings`, refused when they send nowhere or cannot be honoured.
    pub fn new(settings: &SmtpSettings) -> Result<Sender, SettingsError> {
        if settings.host.trim().is_empty() {
            return Err(SettingsError::NoServer);
        }
        if settings.starttls {
            return Err(SettingsError::StartTlsUnavailable);
        }
        if settings.timeout < Duration::from_secs(1) {
            return Err(SettingsError::Timeout);
        }
        let mailbox = |field, address: &str| {
            address
                .parse::<Mailbox>()
                .map_err(|_| SettingsError::Address {
                    field,
                    address: address.to_string(),
                })
        };
        let from = mailbox("mail_from", &settings.from)?;
        let reply_to = match settings.reply_to.as_deref() {
            Some(r) if !r.trim().is_empty() => Some(mailbox("mail_reply_to", r)?),
            _ => None,
        };
        // Plain SMTP: the only kind this build has (see `starttls`).
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .timeout(Some(settings.timeout))
            .build();
        Ok(Sender {
            transport,
            from,
            reply_to,
            timeout: settings.timeout,
        })
    }

    /// Sends each message in turn and says what became of each, in the same order.
    pub async fn send_all(&self, mails: &[Outgoing]) -> Vec<Outcome> {
        let mut out = Vec::with_capacity(mails.len());
        for mail in mails {
            let result = self.send(mail).await;
            if let Err(e) = &result {
                // No address in the log: it is personal data.
                tracing::warn!(error = %ErrorKind(e), "a survey message was not sent");
            }
            out.push(Outcome {
                to: mail.to.clone(),
                result,
            });
        }
        out
    }

    /// Sends one message.
    pub async fn send(&self, mail: &Outgoing) -> Result<(), SendError> {
        let message = self.build(mail)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Err(_) => Err(SendError::Timeout {
                address: mail.to.clone(),
                seconds: self.timeout.as_secs(),
            }),
            Ok(Err(source)) if source.is_timeout() => Err(SendError::Timeout {
                address: mail.to.clone(),
                seconds: self.timeout.as_secs(),
            }),
            Ok(Err(source)) => Err(SendError::Smtp {
                address: mail.to.clone(),
                permanent: source.is_permanent(),
                source,
            }),
            Ok(Ok(_)) => Ok(()),
        }
    }

    /// The MIME message: plain text and its HTML alternative, both UTF-8 in quoted-printable
    /// (7-bit safe, so no server needs 8BITMIME).
    fn build(&self, mail: &Outgoing) -> Result<Message, SendError> {
        let to: Mailbox = mail.to.parse().map_err(|_| SendError::Recipient {
            address: mail.to.clone(),
        })?;
        let part = |content_type: ContentType, body: &str| {
            SinglePart::builder().header(content_type).body(
                Body::new_with_encoding(body.to_string(), ContentTransferEncoding::QuotedPrintable)
                    // Quoted-printable encodes any bytes; the fallback is never taken.
                    .unwrap_or_else(|_| Body::new(body.to_string())),
            )
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.message.subject.clone());
        if let Some(r) = &self.reply_to {
            builder = builder.reply_to(r.clone());
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &mail.message.text))
                    .singlepart(part(ContentType::TEXT_HTML, &mail.message.html)),
            )
            .map_err(|source| SendError::Build {
                address: mail.to.clone(),
                source,
            })
    }
}

/// A send error without its address, for the log.
struct ErrorKind<'a>(&'a SendError);

impl std::fmt::Display for ErrorKind<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            SendError::Recipient { .. } => write!(f, "invalid recipient address"),
            SendError::Build { source, .. } => write!(f, "cannot build the message: {source}"),
            // The server's text may quote the address: only its code is logged.
            SendError::Smtp { source, .. } => match source.status() {
                Some(code) => write!(f, "SMTP refusal {code}"),
                None => write!(f, "SMTP connection or protocol failure"),
            },
            SendError::Timeout { seconds, .. } => write!(f, "no answer in {seconds} s"),
        }
    }
}
