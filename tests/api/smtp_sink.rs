//! A small SMTP server for the mail tests, on 127.0.0.1: it speaks enough of RFC 5321 for
//! any client (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps what it received, and can be
//! told to refuse for a while (a 451, transient) or for good (a 550 on RCPT). Its MIME reader
//! is written here from RFC 2045/2046, independent of the mailer.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Accept,
    /// `451` to `MAIL FROM`: try again later.
    TryLater,
    /// `550` to every `RCPT TO`: no such mailbox.
    Refuse,
}

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        SmtpSink::serve_on(listener)
    }

    /// On a port chosen beforehand (an SMTP server that comes up where it was down).
    pub async fn start_on(port: u16) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        SmtpSink::serve_on(listener)
    }

    fn serve_on(listener: TcpListener) -> SmtpSink {
        let sink = SmtpSink {
            port: listener.local_addr().unwrap().port(),
            received: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Accept)),
        };
        let server = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(server.clone().session(stream));
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn session(self, stream: TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        let mut reply = async |text: &str| write.write_all(text.as_bytes()).await.is_ok();
        if !reply("220 sink.test ESMTP\r\n").await {
            return;
        }
        let mut mail_from = String::new();
        let mut rcpt_to = Vec::new();
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let command = line.trim_end().to_owned();
            let verb = command
                .split([' ', ':'])
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let mode = *self.mode.lock().unwrap();
            let answer = match verb.as_str() {
                "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".to_owned(),
                "HELO" => "250 sink.test\r\n".to_owned(),
                "MAIL" if mode == Mode::TryLater => "451 4.3.0 try again later\r\n".to_owned(),
                "MAIL" => {
                    mail_from = address(&command);
                    rcpt_to.clear();
                    "250 2.1.0 ok\r\n".to_owned()
                }
                "RCPT" if mode == Mode::Refuse => "550 5.1.1 no such mailbox\r\n".to_owned(),
                "RCPT" => {
                    rcpt_to.push(address(&command));
                    "250 2.1.5 ok\r\n".to_owned()
                }
                "DATA" => {
                    if !reply("354 end with <CRLF>.<CRLF>\r\n").await {
                        return;
                    }
                    let mut data = String::new();
                    loop {
                        let mut line = String::new();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == ".\r\n" {
                            break;
                        }
                        // Dot-stuffing (RFC 5321 §4.5.2).
                        data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    }
                    self.received.lock().unwrap().push(Received {
                        mail_from: mail_from.clone(),
                        rcpt_to: rcpt_to.clone(),
                        data,
                    });
                    "250 2.0.0 queued\r\n".to_owned()
                }
                "RSET" | "NOOP" => "250 2.0.0 ok\r\n".to_owned(),
                "QUIT" => {
                    reply("221 2.0.0 bye\r\n").await;
                    return;
                }
                _ => "502 5.5.2 not implemented\r\n".to_owned(),
            };
            if !reply(&answer).await {
                return;
            }
        }
    }
}

fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}

/// A received message read as a mail: unfolded headers, and its parts decoded.
#[derive(Debug)]
pub struct Mail {
    headers: Vec<(String, String)>,
    pub text: String,
    pub html: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

fn split_head(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

fn decode(encoding: &str, body: &str) -> String {
    match encoding.to_ascii_lowercase().as_str() {
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap(),
            )
            .unwrap()
        }
        "quoted-printable" => {
            let joined = body.replace("=\r\n", "");
            let bytes = joined.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' && i + 2 < bytes.len() {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        }
        _ => body.to_owned(),
    }
}

/// Reads a `multipart/alternative` mail with a text and an HTML part.
pub fn parse(received: &Received) -> Mail {
    let (headers, body) = split_head(&received.data);
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .unwrap_or_else(|| panic!("not multipart: {content_type}"));
    let (mut text, mut html) = (String::new(), String::new());
    for part in body.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let (part_headers, part_body) = split_head(part.trim_start_matches("\r\n"));
        let find = |name: &str| {
            part_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let decoded = decode(&find("content-transfer-encoding"), part_body.trim_end());
        if find("content-type").starts_with("text/plain") {
            text = decoded;
        } else if find("content-type").starts_with("text/html") {
            html = decoded;
        }
    }
    Mail {
        headers,
        text: text.replace("\r\n", "\n"),
        html: html.replace("\r\n", "\n"),
    }
}
