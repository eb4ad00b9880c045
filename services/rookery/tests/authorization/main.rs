//! The authorization matrix: every `/api/v1` route the router serves
//! (`rookery_edge::API_ROUTES`, the table the router is built from), called
//! by each kind of caller — the guild's owner, a member, a timed-out
//! member, an outsider, a banned user — on a guild and, for channel routes,
//! on a DM whose recipients are the owner and the member (so the other
//! three are DM non-recipients). Each route has a decision here; a route
//! added to the router without one fails `every_route_has_a_decision`.
//! The gateway's ops get the same treatment (`gateway`): every op the
//! decoder takes (`op::CLIENT_OPS`) has a decision per caller.
//!
//! Each row runs in a fresh guild (the same accounts), callers in a fixed
//! order with the owner last, so what one allowed call changes (a kick, a
//! deleted message) never decides another's answer.

mod gateway;
mod rest;
mod world;
