//! Mutual authentication of the link: both ends hold the same secret
//! (`--link-secret`) and prove it without sending it, by HMAC-SHA256 over
//! both sides' fresh nonces.
//!
//! 1. writer → edge: `Challenge { nonce_w }`
//! 2. edge → writer: `Hello { node, epoch, nonce_e, proof_e }`, where
//!    `proof_e = HMAC(key, "rookery-link edge v1" ‖ nonce_w ‖ nonce_e ‖ node ‖ epoch)`
//! 3. writer → edge: `Welcome { proof_w }`, where
//!    `proof_w = HMAC(key, "rookery-link writer v1" ‖ nonce_e ‖ nonce_w)`
//!
//! Each side checks the other's proof in constant time before it sends or
//! accepts anything else; a replayed proof fails against a fresh nonce.
//! The link is authenticated, not encrypted: it belongs on a private
//! network (the NetworkPolicy in `k8s/cluster/`).

use crate::wire::{self, ToEdge, ToWriter};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use ring::hmac;
use rookery_bus::EdgeId;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// How long either side waits for the other's handshake frames.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Shortest secret accepted.
pub const MIN_SECRET_BYTES: usize = 32;

const EDGE_CONTEXT: &[u8] = b"rookery-link edge v1";
const WRITER_CONTEXT: &[u8] = b"rookery-link writer v1";

/// Why a handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The configured secret is too short to be a key.
    #[error("the link secret must be at least {MIN_SECRET_BYTES} bytes")]
    ShortSecret,
    /// The peer did not finish the handshake in time.
    #[error("no link handshake within {HANDSHAKE_TIMEOUT:?}")]
    Timeout,
    /// The peer's proof does not match: it does not hold the secret.
    #[error("the peer did not prove the link secret")]
    BadProof,
    /// The peer sent something else than the next handshake frame.
    #[error("unexpected frame during the link handshake")]
    Protocol,
    /// The connection failed or closed.
    #[error("link handshake interrupted: {0}")]
    Io(String),
}

/// The shared link key.
#[derive(Clone)]
pub struct LinkKey(hmac::Key);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

impl LinkKey {
    /// The key for `secret` (at least [`MIN_SECRET_BYTES`] bytes).
    pub fn new(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AuthError::ShortSecret);
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    fn sign(&self, parts: &[&[u8]]) -> Bytes {
        let mut ctx = hmac::Context::with_key(&self.0);
        for p in parts {
            ctx.update(p);
        }
        Bytes::copy_from_slice(ctx.sign().as_ref())
    }

    fn check(&self, parts: &[&[u8]], proof: &[u8]) -> Result<(), AuthError> {
        let message: Vec<u8> = parts.concat();
        hmac::verify(&self.0, &message, proof).map_err(|_| AuthError::BadProof)
    }
}

fn nonce() -> Bytes {
    Bytes::copy_from_slice(&rand::random::<[u8; 32]>())
}

type Link<T> = Framed<T, LengthDelimitedCodec>;

async fn send<T: AsyncRead + AsyncWrite + Unpin>(
    link: &mut Link<T>,
    frame: Bytes,
) -> Result<(), AuthError> {
    link.send(frame)
        .await
        .map_err(|e| AuthError::Io(e.to_string()))
}

async fn receive<T: AsyncRead + AsyncWrite + Unpin, M: serde::de::DeserializeOwned>(
    link: &mut Link<T>,
) -> Result<M, AuthError> {
    match link.next().await {
        Some(Ok(frame)) => wire::decode(&frame).map_err(|_| AuthError::Protocol),
        Some(Err(e)) => Err(AuthError::Io(e.to_string())),
        None => Err(AuthError::Io("closed".into())),
    }
}

/// The writer's side: challenges the edge and, once it proved the key,
/// proves it back; returns who the edge is.
pub async fn accept<T: AsyncRead + AsyncWrite + Unpin>(
    link: &mut Link<T>,
    key: &LinkKey,
) -> Result<EdgeId, AuthError> {
    let exchange = async {
        let ours = nonce();
        send(
            link,
            wire::encode(&ToEdge::Challenge {
                nonce: ours.clone(),
            }),
        )
        .await?;
        let ToWriter::Hello {
            node,
            epoch,
            nonce: theirs,
            proof,
        } = receive(link).await?
        else {
            return Err(AuthError::Protocol);
        };
        let (n, e) = (node.to_be_bytes(), epoch.to_be_bytes());
        key.check(&[EDGE_CONTEXT, &ours, &theirs, &n, &e], &proof)?;
        let proof = key.sign(&[WRITER_CONTEXT, &theirs, &ours]);
        send(link, wire::encode(&ToEdge::Welcome { proof })).await?;
        Ok(EdgeId { node, epoch })
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, exchange)
        .await
        .map_err(|_| AuthError::Timeout)?
}

/// The edge's side: answers the writer's challenge as `me` and checks the
/// writer's proof.
pub async fn connect<T: AsyncRead + AsyncWrite + Unpin>(
    link: &mut Link<T>,
    key: &LinkKey,
    me: EdgeId,
) -> Result<(), AuthError> {
    let exchange = async {
        let ToEdge::Challenge { nonce: theirs } = receive(link).await? else {
            return Err(AuthError::Protocol);
        };
        let ours = nonce();
        let (n, e) = (me.node.to_be_bytes(), me.epoch.to_be_bytes());
        let proof = key.sign(&[EDGE_CONTEXT, &theirs, &ours, &n, &e]);
        let hello = ToWriter::Hello {
            node: me.node,
            epoch: me.epoch,
            nonce: ours.clone(),
            proof,
        };
        send(link, wire::encode(&hello)).await?;
        let ToEdge::Welcome { proof } = receive(link).await? else {
            return Err(AuthError::Protocol);
        };
        key.check(&[WRITER_CONTEXT, &ours, &theirs], &proof)
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, exchange)
        .await
        .map_err(|_| AuthError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> LinkKey {
        LinkKey::new(secret.repeat(32).as_bytes()).unwrap()
    }

    fn pair() -> (Link<tokio::io::DuplexStream>, Link<tokio::io::DuplexStream>) {
        let (a, b) = tokio::io::duplex(4096);
        (Framed::new(a, wire::codec()), Framed::new(b, wire::codec()))
    }

    const ME: EdgeId = EdgeId { node: 7, epoch: 99 };

    #[tokio::test]
    async fn both_sides_with_the_key_agree_on_who_the_edge_is() {
        let (mut writer, mut edge) = pair();
        let (ours, theirs) = (key("a"), key("a"));
        let (accepted, connected) =
            tokio::join!(accept(&mut writer, &ours), connect(&mut edge, &theirs, ME));
        assert_eq!(accepted.unwrap(), ME);
        connected.unwrap();
    }

    #[tokio::test]
    async fn a_wrong_key_is_refused_on_either_side() {
        let (mut writer, mut edge) = pair();
        let (ours, theirs) = (key("a"), key("b"));
        let (accepted, _) =
            tokio::join!(accept(&mut writer, &ours), connect(&mut edge, &theirs, ME));
        assert!(matches!(accepted, Err(AuthError::BadProof)));
        // A writer without the key cannot pass as one: the edge answers a
        // challenge but refuses the welcome.
        let (mut writer, mut edge) = pair();
        let impostor = async {
            let nonce = nonce();
            send(&mut writer, wire::encode(&ToEdge::Challenge { nonce })).await?;
            let _: ToWriter = receive(&mut writer).await?;
            let proof = Bytes::from_static(&[0; 32]);
            send(&mut writer, wire::encode(&ToEdge::Welcome { proof })).await
        };
        let ours = key("a");
        let (_, connected) = tokio::join!(impostor, connect(&mut edge, &ours, ME));
        assert!(matches!(connected, Err(AuthError::BadProof)));
    }

    #[tokio::test]
    async fn a_silent_peer_times_out() {
        let (mut writer, _edge) = pair();
        let accepted = accept(&mut writer, &key("a")).await;
        assert!(matches!(accepted, Err(AuthError::Timeout)));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            LinkKey::new(&[1; 31]),
            Err(AuthError::ShortSecret)
        ));
    }
}
