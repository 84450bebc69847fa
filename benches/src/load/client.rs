//! A small HTTP/1.1 keep-alive client over a tokio `TcpStream`: one request at a time per
//! connection, the response read by its `Content-Length` (or chunked encoding). It is all the
//! load generator needs, so no HTTP client crate is compiled in.

use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the server is: its address and the path of the GraphQL endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub address: SocketAddr,
    pub path: String,
}

impl Endpoint {
    /// Parses `http://HOST:PORT/PATH` (no TLS; the path defaults to `/graphql`).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?}: only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/graphql"),
        };
        let address = authority
            .to_socket_addrs()
            .map_err(|e| format!("{authority:?} does not resolve: {e}"))?
            .next()
            .ok_or_else(|| format!("{authority:?} resolves to no address"))?;
        Ok(Endpoint {
            address,
            path: path.to_owned(),
        })
    }
}

/// A response: status and decoded body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection.
pub struct Connection {
    stream: TcpStream,
    host: String,
    /// Bytes read past the end of the last response (none in practice: no pipelining).
    buffer: Vec<u8>,
}

fn invalid(message: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.into())
}

/// Where the body of a response starts and how it is framed.
enum Framing {
    Length(usize),
    Chunked,
    /// Neither: the body runs to the end of the connection.
    Close,
}

impl Connection {
    pub async fn connect(address: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            host: address.to_string(),
            buffer: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends one request and reads its response. `headers` are `(name, value)` pairs sent after
    /// `Host` and `Content-Length`.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        for (name, value) in headers {
            let _infallible = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        let mut message = head.into_bytes();
        message.extend_from_slice(body);
        self.stream.write_all(&message).await?;
        self.read_response().await
    }

    /// Reads more bytes into the buffer; an end of stream is an error (the response is cut).
    async fn fill(&mut self) -> std::io::Result<()> {
        // Reads straight into the buffer's spare capacity (a stack array would make every
        // future of this client 16 KiB larger).
        self.buffer.reserve(16 * 1024);
        let read = self.stream.read_buf(&mut self.buffer).await?;
        if read == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection mid-response",
            ));
        }
        Ok(())
    }

    async fn read_response(&mut self) -> std::io::Result<Response> {
        let header_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end;
            }
            if self.buffer.len() > 64 * 1024 {
                return Err(invalid("response headers larger than 64 KiB"));
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..header_end])
            .map_err(|e| invalid(format!("response headers are not UTF-8: {e}")))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
        let mut framing = Framing::Close;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("content-length") {
                framing = Framing::Length(
                    value
                        .parse()
                        .map_err(|_| invalid(format!("bad content-length {value:?}")))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                framing = Framing::Chunked;
            }
        }
        self.buffer.drain(..header_end + 4);
        let body = match framing {
            Framing::Length(length) => {
                while self.buffer.len() < length {
                    self.fill().await?;
                }
                self.buffer.drain(..length).collect()
            }
            Framing::Chunked => self.read_chunked().await?,
            Framing::Close => {
                let mut rest = std::mem::take(&mut self.buffer);
                self.stream.read_to_end(&mut rest).await?;
                rest
            }
        };
        Ok(Response { status, body })
    }

    async fn read_chunked(&mut self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(end) = find(&self.buffer, b"\r\n") {
                    break end;
                }
                self.fill().await?;
            };
            let size_text = std::str::from_utf8(&self.buffer[..line_end])
                .map_err(|e| invalid(e.to_string()))?;
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
            self.buffer.drain(..line_end + 2);
            // The chunk and its CRLF (the last, empty chunk: the final CRLF, no trailers).
            while self.buffer.len() < size + 2 {
                self.fill().await?;
            }
            body.extend(self.buffer.drain(..size));
            self.buffer.drain(..2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_and_without_a_path() {
        let endpoint = Endpoint::parse("http://127.0.0.1:8080/graphql").expect("parses");
        assert_eq!(endpoint.address.port(), 8080);
        assert_eq!(endpoint.path, "/graphql");
        let endpoint = Endpoint::parse("http://127.0.0.1:9").expect("parses");
        assert_eq!(endpoint.path, "/graphql");
        assert!(Endpoint::parse("https://127.0.0.1:8080/graphql").is_err());
    }
}
