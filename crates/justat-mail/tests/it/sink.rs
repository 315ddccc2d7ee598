//! The sink at the protocol level, spoken to over a raw socket.

use justat_mail::{MailSink, SinkError, SinkLimits};
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Starts a sink on a free loopback port writing into `dir`.
pub async fn start(dir: &Path, limits: SinkLimits) -> std::net::SocketAddr {
    let sink = MailSink::bind("127.0.0.1:0".parse().unwrap(), dir, limits)
        .await
        .unwrap();
    let addr = sink.local_addr().unwrap();
    tokio::spawn(sink.run());
    addr
}

/// The `.eml` files of `dir`, sorted by name, with their contents.
pub fn messages(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> (Client, String) {
        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut c = Client {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = c.reply().await;
        (c, greeting)
    }

    /// The whole reply (every line of a multi-line one), CRLFs kept.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    async fn send(&mut self, text: &str) -> String {
        self.writer.write_all(text.as_bytes()).await.unwrap();
        self.reply().await
    }
}

#[tokio::test]
async fn the_sink_speaks_smtp_and_writes_each_message_with_its_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(dir.path(), SinkLimits::default()).await;
    let (mut c, greeting) = Client::connect(addr).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    assert!(
        c.send("MAIL FROM:<a@x.example>\r\n")
            .await
            .starts_with("503 ")
    );
    let ehlo = c.send("EHLO test\r\n").await;
    assert!(
        ehlo.starts_with("250-") && ehlo.contains("250 SIZE 10485760\r\n"),
        "{ehlo}"
    );
    assert!(c.send("NOOP\r\n").await.starts_with("250 "));
    assert!(
        c.send("DATA\r\n").await.starts_with("503 "),
        "DATA before RCPT"
    );
    assert!(
        c.send("RCPT TO:<b@x.example>\r\n")
            .await
            .starts_with("503 "),
        "RCPT before MAIL"
    );
    assert!(
        c.send("MAIL FROM:<dropped@x.example>\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(
        c.send("RCPT TO:<dropped@x.example>\r\n")
            .await
            .starts_with("250 ")
    );
    // RSET forgets the envelope under way.
    assert!(c.send("RSET\r\n").await.starts_with("250 "));
    assert!(
        c.send("MAIL FROM:<enquetes@justice.example>\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(
        c.send("MAIL FROM:<again@x.example>\r\n")
            .await
            .starts_with("503 ")
    );
    assert!(
        c.send("RCPT TO:<tj.lyon@justice.example>\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(
        c.send("rcpt to: <ca.lyon@justice.example>\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(c.send("RCPT TO:nobrackets\r\n").await.starts_with("501 "));
    assert!(c.send("VRFY x\r\n").await.starts_with("500 "));
    assert!(c.send("DATA\r\n").await.starts_with("354 "));
    let reply = c
        .send("Subject: essai\r\n\r\nÉté à Lyon.\r\n..point en tête\r\n.\r\n")
        .await;
    assert!(
        reply.starts_with("250 ") && reply.contains("000001.eml"),
        "{reply}"
    );
    assert!(c.send("QUIT\r\n").await.starts_with("221 "));
    assert_eq!(
        messages(dir.path()),
        [(
            "000001.eml".to_string(),
            "Return-Path: <enquetes@justice.example>\r\n\
             Delivered-To: <tj.lyon@justice.example>\r\n\
             Delivered-To: <ca.lyon@justice.example>\r\n\
             Subject: essai\r\n\r\nÉté à Lyon.\r\n.point en tête\r\n"
                .to_string()
        )]
    );
}

#[tokio::test]
async fn the_sink_refuses_what_exceeds_its_limits_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let limits = SinkLimits {
        max_message_bytes: 100,
        max_recipients: 1,
        ..SinkLimits::default()
    };
    let addr = start(dir.path(), limits).await;
    let (mut c, _) = Client::connect(addr).await;
    c.send("HELO t\r\n").await;
    assert!(
        c.send("MAIL FROM:<a@x.example> SIZE=101\r\n")
            .await
            .starts_with("552 ")
    );
    assert!(
        c.send("MAIL FROM:<a@x.example> SIZE=100\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(
        c.send("RCPT TO:<b@x.example>\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(
        c.send("RCPT TO:<c@x.example>\r\n")
            .await
            .starts_with("452 ")
    );
    assert!(c.send("DATA\r\n").await.starts_with("354 "));
    let big = format!("{}\r\n.\r\n", "x".repeat(200));
    assert!(c.send(&big).await.starts_with("552 "));
    // The session goes on, and a message within the limits is kept.
    let long_command = format!("NOOP {}\r\n", "y".repeat(2000));
    assert!(c.send(&long_command).await.starts_with("500 "));
    assert!(
        c.send("MAIL FROM:<a@x.example>\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(
        c.send("RCPT TO:<b@x.example>\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(c.send("DATA\r\n").await.starts_with("354 "));
    assert!(c.send("court\r\n.\r\n").await.starts_with("250 "));
    let kept = messages(dir.path());
    assert_eq!(kept.len(), 1);
    assert!(kept[0].1.ends_with("\r\ncourt\r\n"));
}

#[tokio::test]
async fn the_sink_listens_on_loopback_only_and_numbers_after_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = MailSink::bind(
        "0.0.0.0:0".parse().unwrap(),
        dir.path(),
        SinkLimits::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SinkError::NotLoopback { .. }), "{err}");
    std::fs::write(dir.path().join("000041.eml"), "earlier").unwrap();
    let addr = start(dir.path(), SinkLimits::default()).await;
    let (mut c, _) = Client::connect(addr).await;
    c.send("HELO t\r\n").await;
    c.send("MAIL FROM:<>\r\n").await;
    c.send("RCPT TO:<b@x.example>\r\n").await;
    c.send("DATA\r\n").await;
    assert!(c.send("x\r\n.\r\n").await.contains("000042.eml"));
    assert_eq!(messages(dir.path())[0].1, "earlier");
}
