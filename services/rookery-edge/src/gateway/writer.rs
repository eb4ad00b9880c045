//! The writer half: encodes queued items and writes them, flushing once per
//! drained burst so a busy connection gets many frames per syscall.

use crate::metrics as m;
use crate::session::Outbound;
use fastwebsockets::{Frame, OpCode, Payload, WebSocketWrite};
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::CloseCode;
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, watch};

/// Most frames written between flushes.
const BURST: usize = 64;

pub(super) async fn run<W: AsyncWrite + Unpin>(
    mut ws: WebSocketWrite<W>,
    mut rx: mpsc::Receiver<Outbound>,
    mut close: watch::Receiver<Option<CloseCode>>,
    encoding: Encoding,
) {
    let opcode = match encoding {
        Encoding::Json => OpCode::Text,
        Encoding::MsgPack => OpCode::Binary,
    };
    loop {
        tokio::select! {
            biased;
            _ = close.changed() => {
                let code = *close.borrow();
                if let Some(code) = code {
                    let _ = ws.write_frame(Frame::close(code.code(), code.reason().as_bytes())).await;
                    let _ = ws.flush().await;
                    metrics::counter!(m::CLOSES, "code" => code.code().to_string()).increment(1);
                }
                return;
            }
            item = rx.recv() => {
                let Some(first) = item else { return };
                let mut next = Some(first);
                let mut written = 0;
                while let Some(item) = next.take() {
                    match write(&mut ws, item, opcode, encoding).await {
                        Ok(true) => written += 1,
                        Ok(false) | Err(_) => return,
                    }
                    if written < BURST {
                        next = rx.try_recv().ok();
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes one item; `Ok(false)` after a close echo, which ends the connection.
async fn write<W: AsyncWrite + Unpin>(
    ws: &mut WebSocketWrite<W>,
    item: Outbound,
    opcode: OpCode,
    encoding: Encoding,
) -> Result<bool, fastwebsockets::WebSocketError> {
    let (op, payload) = match item {
        Outbound::Dispatch(seq, d) => {
            let mut buf = Vec::with_capacity(256);
            d.write_frame(encoding, seq, &mut buf);
            (opcode, buf)
        }
        Outbound::Frame(bytes) => (opcode, bytes),
        Outbound::Control(op, bytes) => (op, bytes),
    };
    metrics::counter!(m::FRAMES_OUT).increment(1);
    metrics::counter!(m::BYTES_OUT).increment(payload.len() as u64);
    ws.write_frame(Frame::new(true, op, None, Payload::Owned(payload)))
        .await?;
    Ok(op != OpCode::Close)
}
