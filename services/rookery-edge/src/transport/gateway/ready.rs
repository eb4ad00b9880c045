//! READY and what follows it: the session subscribed to its user's
//! scopes, READY in Rookery's shape (or Discord's, [`super::discord`]),
//! and the catch-up the client asked for.

use super::discord::{Dialect, Subscribed};
use crate::Edge;
use crate::delivery::session::Session;
use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::gateway::{self as gw, CloseCode, event_name as ev};
use std::sync::Arc;

/// Subscribes `session` to its user's scopes and builds READY, plus the
/// catch-up the client asked for.
pub(super) async fn build(
    edge: &Edge,
    discord: Option<&Dialect>,
    session: &Arc<Session>,
    ident: &gw::Identify,
    bot: bool,
) -> Result<(Arc<Dispatch>, Vec<Arc<Dispatch>>), CloseCode> {
    let user = &session.user;
    let ids = edge
        .store
        .user_guilds(user.id)
        .await
        .map_err(|_| CloseCode::UnknownError)?;
    let scopes = edge.hub.subscribe_scopes(session, ids).await;
    // Live only once every channel is routed to this edge: a message
    // applied after READY then reaches the session.
    futures_util::future::join_all(scopes.routed).await;
    // Subscribed first, then read: a message applied in between is both
    // in `missed` and buffered live, and the session sends it once.
    let missed = catch_up(edge, user, &ident.last_message_ids).await;
    let (guilds, private_channels) = (scopes.guilds, scopes.private);
    if let Some(dialect) = discord {
        let subscribed = Subscribed {
            user: user.clone(),
            bot,
            session_id: session.id.to_string(),
            guilds,
            private_channels,
        };
        let (ready, mut follow) = super::discord::ready(edge, dialect, subscribed).await?;
        follow.extend(missed);
        return Ok((ready, follow));
    }
    let shown = crate::operations::read_states::shown(&guilds, &private_channels);
    let read_state = edge
        .read_states(user, shown)
        .await
        .map_err(|_| CloseCode::UnknownError)?;
    let ids: Vec<_> = guilds.iter().map(|g| g.id).collect();
    let ready = gw::Ready {
        session_id: session.id.to_string(),
        presences: edge.hub.presences_in(&ids, user.id),
        user: user.clone(),
        guilds,
        private_channels,
        read_state,
    };
    let ready = Dispatch::new(ev::READY, DispatchData::Ready(Box::new(ready)));
    Ok((Arc::new(ready), missed))
}

/// The messages after each given id, from the store, in channels the
/// user may read (others are skipped, as an unknown channel would be).
async fn catch_up(
    edge: &Edge,
    user: &rookery_proto::model::User,
    last: &std::collections::BTreeMap<rookery_proto::ChannelId, rookery_proto::MessageId>,
) -> Vec<Arc<Dispatch>> {
    let mut out = Vec::new();
    for (&channel, &after) in last {
        let cursor = rookery_store::Cursor::After(after);
        let page = edge
            .history(user, channel, cursor, gw::CATCH_UP_LIMIT)
            .await;
        match page {
            Ok(messages) => out.extend(
                messages
                    .into_iter()
                    .map(|m| Arc::new(Dispatch::new(ev::MESSAGE_CREATE, DispatchData::Message(m)))),
            ),
            Err(e) => tracing::debug!(%channel, error = %e, "catch-up skipped"),
        }
    }
    out
}
