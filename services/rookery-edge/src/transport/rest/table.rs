//! The `/api/v1` route table: one list that builds the router and is
//! exported as [`API_ROUTES`], so the authorization matrix
//! (`services/rookery/tests/authorization.rs`) enumerates the routes the
//! router really serves, and a new route without a decision there fails it.

use super::{annotations, discovery, invites, private, roles, routes, webhooks};
use crate::Edge;
use axum::Router;
use std::sync::Arc;

/// Declares the routes once: `path => method(handler).method(handler)`.
macro_rules! api_routes {
    ($($path:literal => $first:ident($first_handler:path) $(.$method:ident($handler:path))*;)*) => {
        /// Every `/api/v1` route as `(METHOD, path template)`, in the
        /// router's order.
        pub const API_ROUTES: &[(&str, &str)] = &[
            $((api_routes!(@name $first), $path), $((api_routes!(@name $method), $path),)*)*
        ];

        pub(super) fn api() -> Router<Arc<Edge>> {
            Router::new()
                $(.route($path, axum::routing::$first($first_handler)$(.$method($handler))*))*
        }
    };
    (@name get) => { "GET" };
    (@name post) => { "POST" };
    (@name put) => { "PUT" };
    (@name patch) => { "PATCH" };
    (@name delete) => { "DELETE" };
}

api_routes! {
    "/auth/register" => post(routes::register);
    "/auth/login" => post(routes::login);
    "/auth/password" => post(routes::change_password);
    "/auth/logout-everywhere" => post(routes::log_out_everywhere);
    "/guilds" => post(routes::create_guild);
    "/guilds/{id}/channels" =>
        get(discovery::guild_channels).post(routes::create_channel).patch(routes::move_channels);
    "/guilds/{id}/invites" => get(invites::in_guild).post(invites::create_in_guild);
    "/invites/{code}" =>
        get(discovery::invite).post(invites::accept).delete(invites::delete);
    "/channels/{id}/invites" => get(invites::in_channel).post(invites::create_in_channel);
    "/guilds/{id}" =>
        get(discovery::guild).patch(discovery::modify_guild).delete(discovery::delete_guild);
    "/users/@me/guilds" => get(routes::my_guilds);
    "/gateway" => get(discovery::gateway);
    "/gateway/bot" => get(discovery::bot_gateway);
    "/users/@me" => get(discovery::me);
    "/users/{id}" => get(discovery::user);
    "/applications" => post(discovery::create_application);
    "/applications/{id}/bot/reset" => post(discovery::reset_bot_token);
    "/applications/@me" => get(discovery::my_application);
    "/oauth2/applications/@me" => get(discovery::my_application);
    "/channels/{id}/messages" => get(routes::history).post(routes::post_message);
    "/channels/{id}/messages/{message}" =>
        get(routes::get_message).patch(routes::edit_message).delete(routes::delete_message);
    "/channels/{id}/messages/bulk-delete" => post(routes::bulk_delete);
    "/guilds/{id}/roles" => get(roles::list).post(roles::create).patch(roles::positions);
    "/guilds/{id}/roles/{role}" =>
        get(discovery::guild_role).patch(roles::update).delete(roles::delete);
    "/guilds/{id}/members/{user}" =>
        get(roles::member).patch(roles::update_member).delete(roles::kick);
    "/users/@me/guilds/{id}" => delete(roles::leave);
    "/guilds/{id}/bans" => get(roles::bans);
    "/guilds/{id}/members" => get(roles::members);
    "/guilds/{id}/audit-logs" => get(roles::audit_log);
    "/guilds/{id}/bans/{user}" => get(roles::get_ban).put(roles::ban).delete(roles::unban);
    "/guilds/{id}/members/{user}/roles/{role}" =>
        put(roles::add_member_role).delete(roles::remove_member_role);
    "/channels/{id}/pins" => get(annotations::pins);
    "/channels/{id}/typing" => post(annotations::typing);
    "/channels/{id}/messages/{message}/ack" => post(annotations::ack);
    "/users/@me/read-states" => get(annotations::read_states);
    "/channels/{id}/pins/{message}" => put(annotations::pin).delete(annotations::unpin);
    "/channels/{id}/messages/{message}/reactions" => delete(annotations::clear_reactions);
    "/channels/{id}/messages/{message}/reactions/{emoji}" =>
        get(annotations::reactions).delete(annotations::clear_emoji_reactions);
    "/channels/{id}/messages/{message}/reactions/{emoji}/{user}" =>
        put(annotations::add_reaction).delete(annotations::remove_reaction);
    "/channels/{id}" => get(roles::channel).patch(routes::update_channel).delete(private::delete);
    "/users/@me/channels" => get(private::list).post(private::open);
    "/channels/{id}/recipients/{user}" => put(private::add).delete(private::remove);
    "/channels/{id}/permissions/{target}" =>
        put(roles::put_overwrite).delete(roles::delete_overwrite);
    "/channels/{id}/webhooks" => get(webhooks::in_channel).post(webhooks::create);
    "/guilds/{id}/webhooks" => get(webhooks::in_guild);
    "/webhooks/{id}" => get(webhooks::get).patch(webhooks::modify).delete(webhooks::delete);
    "/webhooks/{id}/{token}" =>
        get(webhooks::get_with_token).post(webhooks::execute).patch(webhooks::modify_with_token)
            .delete(webhooks::delete_with_token);
    "/webhooks/{id}/{token}/messages/{message}" =>
        get(webhooks::message).patch(webhooks::edit_message).delete(webhooks::delete_message);
}
