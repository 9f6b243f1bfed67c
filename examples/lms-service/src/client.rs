//! A minimal blocking HTTP/1.1 client over one keep-alive loopback connection, for the load
//! generator and the crash test (no client crate: the service's own responses carry a
//! `content-length` or are chunked, nothing else).
#![warn(missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One connection to the service.
#[derive(Debug)]
pub struct Conn {
    addr: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
}

/// A response: status and body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body, as text.
    pub body: String,
}

impl Conn {
    /// A client of `addr`; it connects on first use and reconnects after an error.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, reader: None }
    }

    fn stream(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.reader.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.reader = Some(BufReader::new(stream));
        }
        self.reader.as_mut().ok_or_else(|| std::io::Error::other("no connection"))
    }

    /// Sends one request and reads the whole response. An I/O error drops the connection.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> std::io::Result<Reply> {
        let result = self.exchange(method, path, token, body);
        if result.is_err() {
            self.reader = None;
        }
        result
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> std::io::Result<Reply> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\n");
        if let Some(t) = token {
            head.push_str(&format!("authorization: Bearer {t}\r\n"));
        }
        let payload = body.map_or(&[][..], |(_, b)| b);
        if let Some((ct, b)) = body {
            head.push_str(&format!("content-type: {ct}\r\ncontent-length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let reader = self.stream()?;
        let mut request = head.into_bytes();
        request.extend_from_slice(payload);
        reader.get_mut().write_all(&request)?;
        read_reply(reader)
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

fn read_reply(reader: &mut BufReader<TcpStream>) -> std::io::Result<Reply> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"));
    }
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("status line"))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').ok_or_else(|| bad("header"))?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(|_| bad("chunk size"))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length.unwrap_or(0), 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Reply { status, body: String::from_utf8_lossy(&body).into_owned() })
}

/// 2026-03-01 plus `id` seconds: records arrive in time order, as an LMS sends them.
fn timestamp(id: u64) -> String {
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap_or_default();
    (start + chrono::Duration::seconds(i64::try_from(id).unwrap_or(0)))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An xAPI statement of the demo catalog: `learner` (an email) answered quiz `quiz` in `course`.
pub fn statement(id: u64, learner: &str, quiz: usize, course: &str, success: bool) -> serde_json::Value {
    serde_json::json!({
        "id": format!("00000000-0000-4000-8000-{id:012}"),
        "actor": {"mbox": format!("mailto:{learner}")},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": format!("https://lms.example/quiz/{quiz}")},
        "result": {"success": success, "score": {"scaled": if success { 1.0 } else { 0.0 }}},
        "context": {"contextActivities": {"grouping": [{"id": format!("https://lms.example/courses/{course}")}]}},
        "timestamp": timestamp(id),
    })
}
