//! The PROXY protocol (versions 1 and 2) on the listeners a balancer connects to.
//!
//! A balancer that passes TLS through (it must: readers pin our certificate) can only tell us
//! who the client is by a header in front of the client's bytes. On a `proxy_listen` listener
//! every connection must start with one: it is never guessed, and a connection without a valid
//! header is closed without a byte (the spec's rules, and what keeps anyone who reaches the port
//! directly from choosing their own address). The header is consumed exactly: the bytes after
//! it, the client's TLS record or Gopher selector, are left in the socket for the usual reader.

use std::net::SocketAddr;

use ppp::PartialResult;
use ppp::{HeaderResult, v1, v2};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// The longest header read: the 16 fixed bytes of v2 and 1 KiB of addresses and TLVs (HAProxy
/// sends 28 bytes, or 52 for IPv6; a v1 line is at most 107).
pub const MAX_HEADER_BYTES: usize = 16 + 1024;

/// How a header starts: v2's signature, or v1's `PROXY `.
const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
const V1_PREFIX: &[u8] = b"PROXY ";

/// The longest v1 line, CRLF included.
const V1_MAX_BYTES: usize = 107;

/// What a valid header says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// Relayed for the client `from`, which connected to the balancer at `to`.
    Client { from: SocketAddr, to: SocketAddr },
    /// The balancer's own connection (v2 `LOCAL`: its health checks): served as a connection
    /// from the balancer.
    Local,
    /// Relayed for a client whose address is not an IP address (v1 `UNKNOWN`, a v2 `UNSPEC`
    /// or UNIX family): served as a connection from the balancer, which is all that is known.
    Unknown,
}

/// Waits, without spinning, until a whole header is in the socket's receive queue, then
/// consumes exactly its bytes. `Err` is the reason for the log of a connection that is then
/// closed without a byte. The caller bounds the wait (`limits.proxy_header_timeout`).
pub async fn read_header(stream: &TcpStream) -> Result<Header, &'static str> {
    const CLOSED: &str = "closed before its PROXY header was complete";
    let mut buf = [0u8; MAX_HEADER_BYTES];
    let (header, len) = loop {
        let ready = stream.ready(Interest::READABLE).await.map_err(|_| CLOSED)?;
        let peeked = stream.try_io(Interest::READABLE, || {
            let (n, _) = rustix::net::recv(stream, &mut buf[..], rustix::net::RecvFlags::PEEK)?;
            if n == 0 {
                return Ok(Err(CLOSED));
            }
            Ok(match parse(&buf[..n]) {
                Parsed::Done(header, len) => Ok((header, len)),
                Parsed::Invalid(why) => Err(why),
                Parsed::Incomplete if n == buf.len() => Err("PROXY header over the size cap"),
                Parsed::Incomplete => return Err(std::io::ErrorKind::WouldBlock.into()),
            })
        });
        match peeked {
            Ok(result) => break result?,
            // Part of a header, and the peer has closed: the rest never comes (and a closed
            // socket stays readable, so waiting again would spin).
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && ready.is_read_closed() => {
                return Err(CLOSED);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return Err(CLOSED),
        }
    };
    // Everything peeked is queued: the header's bytes come out in one read.
    let consumed = stream.try_io(Interest::READABLE, || {
        rustix::net::recv(stream, &mut buf[..len], rustix::net::RecvFlags::empty())
            .map(|(n, _)| n)
            .map_err(Into::into)
    });
    match consumed {
        Ok(n) if n == len => Ok(header),
        _ => Err(CLOSED),
    }
}

/// What the bytes at the start of a connection are.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// A whole header of this many bytes.
    Done(Header, usize),
    /// The start of a header: more bytes may complete it.
    Incomplete,
    /// No header, or a broken one.
    Invalid(&'static str),
}

fn parse(bytes: &[u8]) -> Parsed {
    // Neither format's start: refused at once, not after a timeout (a client that reached
    // the port directly sends a TLS record or a selector).
    let starts = |prefix: &[u8]| prefix.starts_with(&bytes[..bytes.len().min(prefix.len())]);
    if !starts(V2_SIGNATURE) && !starts(V1_PREFIX) {
        return Parsed::Invalid("no PROXY header");
    }
    // A v1 line is judged whole: cut after a space, the parser would call it broken.
    if starts(V1_PREFIX)
        && bytes.len() < V1_MAX_BYTES
        && !bytes.windows(2).any(|w| w == b"\r\n")
        && !bytes.contains(&b'\n')
    {
        return Parsed::Incomplete;
    }
    let result = HeaderResult::parse(bytes);
    if result.is_incomplete() {
        return Parsed::Incomplete;
    }
    match result {
        HeaderResult::V1(Ok(header)) => {
            let client = match header.addresses {
                v1::Addresses::Tcp4(a) => Header::Client {
                    from: SocketAddr::from((a.source_address, a.source_port)),
                    to: SocketAddr::from((a.destination_address, a.destination_port)),
                },
                v1::Addresses::Tcp6(a) => Header::Client {
                    from: SocketAddr::from((a.source_address, a.source_port)),
                    to: SocketAddr::from((a.destination_address, a.destination_port)),
                },
                v1::Addresses::Unknown => Header::Unknown,
            };
            Parsed::Done(client, header.header.len())
        }
        HeaderResult::V2(Ok(header)) => {
            let client = match (header.command, header.addresses) {
                (v2::Command::Local, _) => Header::Local,
                (_, v2::Addresses::IPv4(a)) => Header::Client {
                    from: SocketAddr::from((a.source_address, a.source_port)),
                    to: SocketAddr::from((a.destination_address, a.destination_port)),
                },
                (_, v2::Addresses::IPv6(a)) => {
                    // An IPv4 client of a dual-stack balancer is that IPv4 client.
                    let canonical = |ip: [u8; 16]| std::net::IpAddr::from(ip).to_canonical();
                    Header::Client {
                        from: SocketAddr::new(canonical(a.source_address.octets()), a.source_port),
                        to: SocketAddr::new(
                            canonical(a.destination_address.octets()),
                            a.destination_port,
                        ),
                    }
                }
                _ => Header::Unknown,
            };
            // TLVs are skipped, but a block of them that does not parse is a broken header.
            if header.tlvs().any(|tlv| tlv.is_err()) {
                return Parsed::Invalid("malformed PROXY header (its TLVs)");
            }
            Parsed::Done(client, header.len())
        }
        HeaderResult::V1(Err(_)) | HeaderResult::V2(Err(_)) => {
            Parsed::Invalid("malformed PROXY header")
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A v2 header for a TCP client at `source` (to `destination`), with a NOOP TLV of
    /// `noop` bytes when given.
    pub(crate) fn v2(source: SocketAddr, destination: SocketAddr, noop: Option<&[u8]>) -> Vec<u8> {
        let builder = v2::Builder::with_addresses(
            v2::Version::Two | v2::Command::Proxy,
            v2::Protocol::Stream,
            (source, destination),
        );
        match noop {
            Some(bytes) => builder.write_tlv(v2::Type::NoOp, bytes).unwrap(),
            None => builder,
        }
        .build()
        .unwrap()
    }

    const LOCAL: &[u8] = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";

    fn client(from: &str, to: &str) -> Header {
        Header::Client {
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
        }
    }

    #[test]
    fn every_form_haproxy_and_the_spec_send_is_read() {
        let a: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let b: SocketAddr = "198.51.100.1:1965".parse().unwrap();
        let a6: SocketAddr = "[2001:db8::7]:40000".parse().unwrap();
        let b6: SocketAddr = "[2001:db8::1]:1965".parse().unwrap();
        let v1_4 = b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 1965\r\n";
        let v1_6 = b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 1965\r\n";
        let v1_unknown = b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
        // A NOOP TLV (type 4) of three bytes.
        let with_tlv = v2(a, b, Some(&[1, 2, 3]));
        for (bytes, expected) in [
            (
                &v1_4[..],
                Parsed::Done(client("192.0.2.7:40000", "198.51.100.1:1965"), v1_4.len()),
            ),
            (
                &v1_6[..],
                Parsed::Done(
                    client("[2001:db8::7]:40000", "[2001:db8::1]:1965"),
                    v1_6.len(),
                ),
            ),
            (
                &v1_unknown[..],
                Parsed::Done(Header::Unknown, v1_unknown.len()),
            ),
            (
                &v2(a, b, None)[..],
                Parsed::Done(client("192.0.2.7:40000", "198.51.100.1:1965"), 28),
            ),
            (
                &v2(a6, b6, None)[..],
                Parsed::Done(client("[2001:db8::7]:40000", "[2001:db8::1]:1965"), 52),
            ),
            (LOCAL, Parsed::Done(Header::Local, 16)),
            // A dual-stack balancer's IPv4 client, as an IPv4-mapped address: the IPv4 client.
            (
                &v2("[::ffff:192.0.2.9]:40000".parse().unwrap(), b6, None)[..],
                Parsed::Done(client("192.0.2.9:40000", "[2001:db8::1]:1965"), 52),
            ),
            (
                &with_tlv[..],
                Parsed::Done(client("192.0.2.7:40000", "198.51.100.1:1965"), 34),
            ),
        ] {
            assert_eq!(parse(bytes), expected, "{bytes:?}");
            // What follows the header is not part of it.
            let mut more = bytes.to_vec();
            more.extend(b"\x16\x03\x01 and the rest");
            assert_eq!(parse(&more), expected, "{bytes:?} + more");
            // Any start of it waits for the rest.
            for cut in 1..bytes.len() {
                assert_eq!(
                    parse(&bytes[..cut]),
                    Parsed::Incomplete,
                    "{bytes:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let a: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let b: SocketAddr = "198.51.100.1:1965".parse().unwrap();
        let good = v2(a, b, None);
        let with = |i: usize, byte: u8| {
            let mut h = good.clone();
            h[i] = byte;
            h
        };
        let mut long = V2_SIGNATURE.to_vec();
        long.extend([0x21, 0x11, 0xff, 0xff]);
        for bytes in [
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
            b"gemini://localhost/\r\n".to_vec(),
            b"/\r\n".to_vec(),
            b"PROXY TCP4 192.0.2.7 198.51.100.1 040000 1965\r\n".to_vec(),
            b"PROXY TCP4 192.0.2.7 ::1 40000 1965\r\n".to_vec(),
            b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 1965\n".to_vec(),
            b"PROXY  TCP4 192.0.2.7 198.51.100.1 40000 1965\r\n".to_vec(),
            [b"PROXY TCP4 ".as_slice(), &[b'1'; 120]].concat(),
            with(0, b'X'),
            with(12, 0x31),
            with(12, 0x22),
            with(13, 0x41),
            with(13, 0x13),
        ] {
            let parsed = parse(&bytes);
            assert!(
                matches!(parsed, Parsed::Invalid(_)),
                "{bytes:?}: {parsed:?}"
            );
        }
        // A v2 header that promises more than the cap waits, and the reader refuses it once
        // its buffer is full.
        assert_eq!(parse(&long), Parsed::Incomplete);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever a peer sends, the parser answers (no panic), and never claims more bytes
        /// than it was given or than the cap.
        #[test]
        fn any_bytes_are_judged(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Parsed::Done(_, len) = parse(&bytes) {
                proptest::prop_assert!(len <= bytes.len() && len <= MAX_HEADER_BYTES);
            }
        }

        /// Bytes that start like a header (either signature, mutated) are judged too.
        #[test]
        fn mutated_headers_are_judged(
            v1 in proptest::bool::ANY,
            flips in proptest::collection::vec((0usize..60, proptest::num::u8::ANY), 0..4),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            let a: SocketAddr = "192.0.2.7:40000".parse().unwrap();
            let b: SocketAddr = "198.51.100.1:1965".parse().unwrap();
            let mut bytes = if v1 {
                b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 1965\r\n".to_vec()
            } else {
                v2(a, b, None)
            };
            for (at, byte) in flips {
                if at < bytes.len() {
                    bytes[at] = byte;
                }
            }
            bytes.extend(tail);
            if let Parsed::Done(_, len) = parse(&bytes) {
                proptest::prop_assert!(len <= bytes.len());
            }
        }

        /// A valid header followed by anything is that header, of its own length.
        #[test]
        fn what_follows_a_header_is_never_part_of_it(
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..100),
        ) {
            let a: SocketAddr = "192.0.2.7:40000".parse().unwrap();
            let b: SocketAddr = "198.51.100.1:1965".parse().unwrap();
            let mut bytes = v2(a, b, None);
            bytes.extend(tail);
            proptest::prop_assert_eq!(parse(&bytes), Parsed::Done(Header::Client { from: a, to: b }, 28));
        }
    }

    /// A connected pair on loopback: (our end, the balancer's end).
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let balancer = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (ours, _) = listener.accept().await.unwrap();
        (ours, balancer)
    }

    #[tokio::test]
    async fn the_header_is_consumed_exactly_however_it_arrives() {
        let a: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let b: SocketAddr = "198.51.100.1:1965".parse().unwrap();
        let header = v2(a, b, None);
        // In one write with what follows, and trickled a byte at a time.
        for trickle in [false, true] {
            let (ours, mut balancer) = pair().await;
            let mut sent = header.clone();
            sent.extend(b"\x16\x03\x01rest");
            let writing = tokio::spawn(async move {
                if trickle {
                    for byte in sent {
                        balancer.write_all(&[byte]).await.unwrap();
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                } else {
                    balancer.write_all(&sent).await.unwrap();
                }
                balancer
            });
            assert_eq!(
                read_header(&ours).await,
                Ok(Header::Client { from: a, to: b })
            );
            let _balancer = writing.await.unwrap();
            let mut rest = [0u8; 7];
            let mut ours = ours;
            ours.read_exact(&mut rest).await.unwrap();
            assert_eq!(&rest, b"\x16\x03\x01rest");
        }
    }

    #[tokio::test]
    async fn a_header_cut_short_or_never_sent_is_refused_or_waits() {
        // The balancer closes mid-header.
        let (ours, mut balancer) = pair().await;
        balancer.write_all(&LOCAL[..10]).await.unwrap();
        drop(balancer);
        assert!(read_header(&ours).await.is_err());
        // Silence: the reader waits (the caller's timeout ends it).
        let (ours, _balancer) = pair().await;
        let waited = tokio::time::timeout(Duration::from_millis(200), read_header(&ours)).await;
        assert!(waited.is_err());
        // A header longer than the cap.
        let (ours, mut balancer) = pair().await;
        let mut long = V2_SIGNATURE.to_vec();
        long.extend([0x21, 0x11, 0xff, 0xff]);
        long.resize(MAX_HEADER_BYTES + 10, 0);
        balancer.write_all(&long).await.unwrap();
        assert_eq!(
            read_header(&ours).await,
            Err("PROXY header over the size cap")
        );
        // A client that reached the port directly.
        let (ours, mut balancer) = pair().await;
        balancer.write_all(b"\x16\x03\x01\x02\x00").await.unwrap();
        assert_eq!(read_header(&ours).await, Err("no PROXY header"));
    }
}
