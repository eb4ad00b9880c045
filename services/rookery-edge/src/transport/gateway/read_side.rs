//! The reading side of a connection's socket (its outlet writes on the same
//! socket).
//!
//! A read that returns less than it asked for has drained the socket, so
//! it also clears the socket's read readiness: otherwise the next read
//! would make a second `recvfrom` only to hear `EWOULDBLOCK` — one wasted
//! syscall per client frame (~10,000 a second at 10,000 msgs/s). Tokio
//! clears readiness only up to the event noted before the read, so data
//! that arrives after it still wakes the reader; a peer's close is never
//! cleared.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, Interest, ReadBuf};
use tokio::net::TcpStream;

/// The reading side of a connection's socket.
pub(super) struct ReadSide(pub(super) Arc<TcpStream>);

impl AsyncRead for ReadSide {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let socket = &self.0;
        loop {
            ready!(socket.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            let asked = unfilled.len();
            let mut read = 0;
            let drained = socket.try_io(Interest::READABLE, || {
                read = socket.try_read(unfilled)?;
                match read > 0 && read < asked {
                    true => Err(io::ErrorKind::WouldBlock.into()),
                    false => Ok(()),
                }
            });
            match drained {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && read == 0 => continue,
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Poll::Ready(Err(e)),
                _ => {
                    buf.advance(read);
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair() -> (ReadSide, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (ReadSide(Arc::new(accepted.unwrap().0)), client.unwrap())
    }

    async fn read_some(side: &mut ReadSide) -> Vec<u8> {
        let mut buf = [0u8; 1024];
        let read = side.read(&mut buf);
        let n = tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("the reader was woken")
            .unwrap();
        buf[..n].to_vec()
    }

    /// After a short read has cleared readiness, what the peer sends next
    /// still wakes the reader, and so does its close.
    #[tokio::test]
    async fn after_a_short_read_new_bytes_and_the_close_still_arrive() {
        let (mut side, mut peer) = pair().await;
        for round in 0..50u8 {
            peer.write_all(&[round; 3]).await.unwrap();
            assert_eq!(read_some(&mut side).await, vec![round; 3]);
        }
        peer.write_all(b"last").await.unwrap();
        peer.shutdown().await.unwrap();
        drop(peer);
        assert_eq!(read_some(&mut side).await, b"last");
        assert_eq!(read_some(&mut side).await, b"", "end of stream");
    }

    /// A read that fills the buffer leaves the rest for the next read.
    #[tokio::test]
    async fn a_full_read_leaves_the_rest_readable() {
        let (mut side, mut peer) = pair().await;
        peer.write_all(&[7; 1500]).await.unwrap();
        let mut got = Vec::new();
        while got.len() < 1500 {
            got.extend(read_some(&mut side).await);
        }
        assert_eq!(got, vec![7; 1500]);
    }
}
