//! Every CQL statement the store runs, in one place, so CI can check each
//! against the schema files (`tests/cql_check.rs`): tables, columns, key
//! restrictions, nothing that would need ALLOW FILTERING.
//!
//! Statements are written unqualified and prepared qualified ([`qualify`]):
//! the store's session has no keyspace of its own (`USE` with prepared
//! statements is ambiguous, and Cassandra 5 warns about it). Writes are
//! INSERTs (upserts, which touch only the columns they name, so an INSERT
//! of some columns is what an UPDATE would be), single-row DELETEs, and one
//! whole-partition DELETE (a message's reactions: one partition tombstone,
//! never a range). There are no `IN` lists and no `LIMIT`: each read names
//! one partition, and page sizes bound how much comes back.

/// Declares the statements and [`ALL`] from one list, so none is missed.
macro_rules! statements {
    ($($(#[$doc:meta])* $name:ident = $cql:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = $cql;)*
        /// Every statement above, by name.
        pub const ALL: &[(&str, &str)] = &[$((stringify!($name), $name)),*];
    };
}

statements! {
    /// A profile upsert.
    INSERT_USER = "INSERT INTO users (id, username) VALUES (?, ?)";
    /// A profile.
    SELECT_USER = "SELECT id, username FROM users WHERE id = ?";
    /// A password hash.
    INSERT_CREDENTIALS = "INSERT INTO credentials (user_id, password_hash) VALUES (?, ?)";
    /// The hash of one user.
    SELECT_CREDENTIALS = "SELECT password_hash FROM credentials WHERE user_id = ?";
    /// An application (its bot user's account is written first).
    INSERT_APPLICATION = "INSERT INTO applications (id, name, owner_id) VALUES (?, ?, ?)";
    /// An application whose name was taken after all.
    DELETE_APPLICATION = "DELETE FROM applications WHERE id = ?";
    /// An application by id.
    SELECT_APPLICATION = "SELECT id, name, owner_id FROM applications WHERE id = ?";
    /// A webhook under its guild and channel.
    INSERT_WEBHOOK = "INSERT INTO webhooks (guild_id, channel_id, id, name, secret, creator_id, creator_name) VALUES (?, ?, ?, ?, ?, ?, ?)";
    /// A webhook's place, by id.
    INSERT_WEBHOOK_ID = "INSERT INTO webhooks_by_id (id, guild_id, channel_id) VALUES (?, ?, ?)";
    /// Where a webhook is.
    SELECT_WEBHOOK_ID = "SELECT guild_id, channel_id FROM webhooks_by_id WHERE id = ?";
    /// One webhook.
    SELECT_WEBHOOK = "SELECT channel_id, id, name, secret, creator_id, creator_name FROM webhooks WHERE guild_id = ? AND channel_id = ? AND id = ?";
    /// A channel's webhooks.
    SELECT_CHANNEL_WEBHOOKS = "SELECT channel_id, id, name, secret, creator_id, creator_name FROM webhooks WHERE guild_id = ? AND channel_id = ?";
    /// A guild's webhooks.
    SELECT_GUILD_WEBHOOKS = "SELECT channel_id, id, name, secret, creator_id, creator_name FROM webhooks WHERE guild_id = ?";
    /// A deleted webhook.
    DELETE_WEBHOOK = "DELETE FROM webhooks WHERE guild_id = ? AND channel_id = ? AND id = ?";
    /// A deleted webhook's place.
    DELETE_WEBHOOK_ID = "DELETE FROM webhooks_by_id WHERE id = ?";
    /// An account's token generation (null until first revoked).
    SELECT_TOKEN_GENERATION = "SELECT token_generation FROM credentials WHERE user_id = ?";
    /// A revocation: the new token generation.
    INSERT_TOKEN_GENERATION = "INSERT INTO credentials (user_id, token_generation) VALUES (?, ?)";
    /// A password change: the new hash and token generation in one row write.
    INSERT_PASSWORD_CHANGE = "INSERT INTO credentials (user_id, password_hash, token_generation) VALUES (?, ?, ?)";
    /// The username claim (a lightweight transaction).
    CLAIM_USERNAME = "INSERT INTO usernames (name, user_id) VALUES (?, ?) IF NOT EXISTS";
    /// Who holds a (lowercased) username.
    SELECT_USERNAME = "SELECT user_id FROM usernames WHERE name = ?";

    /// A guild upsert.
    INSERT_GUILD = "INSERT INTO guilds (id, name, owner_id) VALUES (?, ?, ?)";
    /// A guild.
    SELECT_GUILD = "SELECT id, name, owner_id FROM guilds WHERE id = ?";
    /// A deleted guild's row (its count with it).
    DELETE_GUILD = "DELETE FROM guilds WHERE id = ?";
    /// A channel upsert, by id.
    INSERT_CHANNEL = "INSERT INTO channels (id, guild_id, name, kind, position, rate_limit_per_user, owner_id) VALUES (?, ?, ?, ?, ?, ?, ?)";
    /// A channel upsert, under its guild.
    INSERT_GUILD_CHANNEL = "INSERT INTO channels_by_guild (guild_id, channel_id, name, kind, position, rate_limit_per_user) VALUES (?, ?, ?, ?, ?, ?)";
    /// A channel.
    SELECT_CHANNEL = "SELECT id, guild_id, name, kind, position, rate_limit_per_user, owner_id FROM channels WHERE id = ?";
    /// A deleted channel, by id.
    DELETE_CHANNEL = "DELETE FROM channels WHERE id = ?";
    /// A deleted channel, under its guild.
    DELETE_GUILD_CHANNEL = "DELETE FROM channels_by_guild WHERE guild_id = ? AND channel_id = ?";
    /// The first DM of a pair of users (a lightweight transaction).
    CLAIM_DM_PAIR = "INSERT INTO dm_pairs (user_low, user_high, channel_id) VALUES (?, ?, ?) IF NOT EXISTS";
    /// The DM of a pair of users.
    SELECT_DM_PAIR = "SELECT channel_id FROM dm_pairs WHERE user_low = ? AND user_high = ?";
    /// A private channel's recipient.
    INSERT_RECIPIENT = "INSERT INTO channel_recipients (channel_id, user_id, username) VALUES (?, ?, ?)";
    /// A recipient who left or was removed.
    DELETE_RECIPIENT = "DELETE FROM channel_recipients WHERE channel_id = ? AND user_id = ?";
    /// A private channel's recipients.
    SELECT_RECIPIENTS = "SELECT user_id, username FROM channel_recipients WHERE channel_id = ?";
    /// A guild's channels.
    SELECT_GUILD_CHANNELS = "SELECT channel_id, name, kind, position, rate_limit_per_user FROM channels_by_guild WHERE guild_id = ?";
    /// One permission overwrite of a channel.
    INSERT_OVERWRITE = "INSERT INTO channel_overwrites (channel_id, target_id, target_type, allow_bits, deny_bits) VALUES (?, ?, ?, ?, ?)";
    /// A channel's overwrites.
    SELECT_OVERWRITES =
        "SELECT target_id, target_type, allow_bits, deny_bits FROM channel_overwrites WHERE channel_id = ?";
    /// Removes one overwrite (one row tombstone).
    DELETE_OVERWRITE = "DELETE FROM channel_overwrites WHERE channel_id = ? AND target_id = ?";
    /// A role upsert.
    INSERT_ROLE = "INSERT INTO roles (guild_id, role_id, name, permissions, position, color, hoist, mentionable) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    /// A guild's roles.
    SELECT_ROLES = "SELECT role_id, name, permissions, position, color, hoist, mentionable FROM roles WHERE guild_id = ?";
    /// Removes a role.
    DELETE_ROLE = "DELETE FROM roles WHERE guild_id = ? AND role_id = ?";
    /// A membership upsert, its role set replaced whole.
    INSERT_MEMBER = "INSERT INTO members (guild_id, user_id, username, joined_at, roles, communication_disabled_until, bot) VALUES (?, ?, ?, ?, ?, ?, ?)";
    /// Removes a membership.
    DELETE_MEMBER = "DELETE FROM members WHERE guild_id = ? AND user_id = ?";
    /// Removes the guild from its former member's list.
    DELETE_USER_GUILD = "DELETE FROM guilds_by_user WHERE user_id = ? AND guild_id = ?";
    /// The guild listed under its member.
    INSERT_USER_GUILD = "INSERT INTO guilds_by_user (user_id, guild_id) VALUES (?, ?)";
    /// A page of a guild's members, above a user id (the page size bounds it).
    SELECT_MEMBERS = "SELECT user_id, username, joined_at, roles, communication_disabled_until, bot FROM members WHERE guild_id = ? AND user_id > ?";
    /// Whether a membership exists (read before it is written or deleted,
    /// to count it).
    SELECT_MEMBER_EXISTS = "SELECT user_id FROM members WHERE guild_id = ? AND user_id = ?";
    /// A guild's members' ids (paged: counts a guild from before 016).
    SELECT_MEMBER_IDS = "SELECT user_id FROM members WHERE guild_id = ?";
    /// A guild's member count; no row for an unknown guild.
    SELECT_MEMBER_COUNT = "SELECT member_count FROM guilds WHERE id = ?";
    /// A guild's member count, rewritten whole by the guild's writer.
    SET_MEMBER_COUNT = "INSERT INTO guilds (id, member_count) VALUES (?, ?)";
    /// A membership.
    SELECT_MEMBER =
        "SELECT username, joined_at, roles, communication_disabled_until, bot FROM members WHERE guild_id = ? AND user_id = ?";
    /// A user's guilds.
    SELECT_USER_GUILDS = "SELECT guild_id FROM guilds_by_user WHERE user_id = ?";
    /// A ban (who banned is not recorded yet: `banned_by` stays unset).
    INSERT_BAN = "INSERT INTO bans (guild_id, user_id, reason) VALUES (?, ?, ?)";
    /// Lifts a ban.
    DELETE_BAN = "DELETE FROM bans WHERE guild_id = ? AND user_id = ?";
    /// One ban.
    SELECT_BAN = "SELECT user_id, reason FROM bans WHERE guild_id = ? AND user_id = ?";
    /// A guild's bans above a user id, ascending (paged by the caller).
    SELECT_BANS = "SELECT user_id, reason FROM bans WHERE guild_id = ? AND user_id > ?";
    /// How far a user has read a channel (`mention_count` is computed on
    /// read, never stored).
    INSERT_READ_STATE = "INSERT INTO read_states (user_id, channel_id, last_message_id) VALUES (?, ?, ?)";
    /// A user's read states.
    SELECT_READ_STATES = "SELECT channel_id, last_message_id FROM read_states WHERE user_id = ?";
    /// An audit log entry, in its `(guild, bucket)` partition; the table's
    /// TTL drops it after 90 days.
    INSERT_AUDIT = "INSERT INTO audit_log (guild_id, bucket, entry_id, user_id, action_type, target_id, reason, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    /// One bucket's entries below an id, newest first (the clustering order).
    SELECT_AUDIT = "SELECT entry_id, user_id, action_type, target_id, reason, changes FROM audit_log WHERE guild_id = ? AND bucket = ? AND entry_id < ?";
    /// An invite upsert (not its uses: a replayed creation keeps them).
    INSERT_INVITE = "INSERT INTO invites (code, guild_id, inviter_id, channel_id, created_at, max_age, max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)";
    /// An invite.
    SELECT_INVITE = "SELECT guild_id, inviter_id, channel_id, created_at, max_age, max_uses, uses FROM invites WHERE code = ?";
    /// An invite's joins, rewritten whole by the guild's writer.
    SET_INVITE_USES = "INSERT INTO invites (code, uses) VALUES (?, ?)";
    /// A deleted invite.
    DELETE_INVITE = "DELETE FROM invites WHERE code = ?";
    /// An invite under its guild.
    INSERT_GUILD_INVITE = "INSERT INTO invites_by_guild (guild_id, code) VALUES (?, ?)";
    /// A deleted invite's entry under its guild.
    DELETE_GUILD_INVITE = "DELETE FROM invites_by_guild WHERE guild_id = ? AND code = ?";
    /// A guild's invite codes.
    SELECT_GUILD_INVITES = "SELECT code FROM invites_by_guild WHERE guild_id = ?";

    /// A message upsert into its `(channel, bucket)` partition, at the
    /// write time bound last (so rows batched together keep their own).
    /// Absent values are bound unset, so they write no null cells
    /// (tombstones).
    INSERT_MESSAGE = "INSERT INTO messages (channel_id, bucket, message_id, guild_id, author_id, author_username, content, nonce, reply_to, mention_users, mention_roles, mention_everyone, webhook_id, author_bot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?";
    /// An edit: the text and its time, nothing else (only once the message
    /// is known to exist).
    EDIT_MESSAGE = "INSERT INTO messages (channel_id, bucket, message_id, content, edited_at) VALUES (?, ?, ?, ?, ?)";
    /// A pin or unpin on the message row (only once it is known to exist).
    PIN_MESSAGE = "INSERT INTO messages (channel_id, bucket, message_id, pinned) VALUES (?, ?, ?, ?)";
    /// Whether a message exists.
    SELECT_MESSAGE_ID = "SELECT message_id FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?";
    /// One message.
    SELECT_MESSAGE = "SELECT message_id, guild_id, author_id, author_username, content, nonce, edited_at, reply_to, mention_users, mention_roles, mention_everyone, pinned, reactions, webhook_id, author_bot FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?";
    /// Deletes one message (one row tombstone).
    DELETE_MESSAGE = "DELETE FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?";
    /// Lists a pinned message under its channel.
    INSERT_PIN = "INSERT INTO pins (channel_id, message_id) VALUES (?, ?)";
    /// Unlists a pin.
    DELETE_PIN = "DELETE FROM pins WHERE channel_id = ? AND message_id = ?";
    /// A channel's pins, newest first (the clustering order).
    SELECT_PINS = "SELECT message_id FROM pins WHERE channel_id = ?";
    /// One user's reaction.
    INSERT_REACTION = "INSERT INTO reactions (channel_id, message_id, emoji, user_id) VALUES (?, ?, ?, ?)";
    /// Removes one user's reaction.
    DELETE_REACTION = "DELETE FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji = ? AND user_id = ?";
    /// Removes every reaction of a deleted message (one partition tombstone).
    DELETE_REACTIONS = "DELETE FROM reactions WHERE channel_id = ? AND message_id = ?";
    /// Whether one user reacted with one emoji.
    SELECT_REACTION = "SELECT user_id FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji = ? AND user_id = ?";
    /// Every reaction of a message with one emoji (read before they are
    /// cleared, to unindex and delete each).
    SELECT_EMOJI_REACTIONS = "SELECT emoji, user_id FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji = ?";
    /// Every reaction of a message (read before it is deleted, to take
    /// the readers' index rows along).
    SELECT_MESSAGE_REACTIONS = "SELECT emoji, user_id FROM reactions WHERE channel_id = ? AND message_id = ?";
    /// A message's reaction counts, or no row if the message is gone.
    SELECT_REACTION_COUNTS = "SELECT reactions FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?";
    /// A message's reaction counts, rewritten whole (a frozen map: one
    /// cell), only once the message is known to exist.
    SET_REACTION_COUNTS = "INSERT INTO messages (channel_id, bucket, message_id, reactions) VALUES (?, ?, ?, ?)";
    /// Indexes one reaction under its reader, in its message's bucket.
    INSERT_USER_REACTION = "INSERT INTO user_reactions (channel_id, user_id, bucket, message_id, emoji) VALUES (?, ?, ?, ?, ?)";
    /// Unindexes one reaction.
    DELETE_USER_REACTION = "DELETE FROM user_reactions WHERE channel_id = ? AND user_id = ? AND bucket = ? AND message_id = ? AND emoji = ?";
    /// A reader's reactions on a range of a channel's messages, in one bucket.
    SELECT_USER_REACTIONS = "SELECT message_id, emoji FROM user_reactions WHERE channel_id = ? AND user_id = ? AND bucket = ? AND message_id >= ? AND message_id <= ?";
    /// The users who reacted with one emoji, above an id, ascending.
    SELECT_REACTIONS = "SELECT user_id FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji = ? AND user_id > ?";
    /// Indexes a user a message names (`schema/012_mention_index.cql`).
    INSERT_USER_MENTION = "INSERT INTO user_mentions (channel_id, user_id, bucket, message_id) VALUES (?, ?, ?, ?)";
    /// Unindexes one.
    DELETE_USER_MENTION = "DELETE FROM user_mentions WHERE channel_id = ? AND user_id = ? AND bucket = ? AND message_id = ?";
    /// The messages naming a user in one bucket, after a mark.
    SELECT_USER_MENTIONS = "SELECT message_id FROM user_mentions WHERE channel_id = ? AND user_id = ? AND bucket = ? AND message_id > ?";
    /// Indexes a message that mentions @everyone or roles.
    INSERT_BROADCAST_MENTION = "INSERT INTO broadcast_mentions (channel_id, bucket, message_id, author_id, everyone, roles) VALUES (?, ?, ?, ?, ?, ?)";
    /// Unindexes one.
    DELETE_BROADCAST_MENTION = "DELETE FROM broadcast_mentions WHERE channel_id = ? AND bucket = ? AND message_id = ?";
    /// The messages mentioning @everyone or roles in one bucket, after a mark.
    SELECT_BROADCAST_MENTIONS = "SELECT message_id, author_id, everyone, roles FROM broadcast_mentions WHERE channel_id = ? AND bucket = ? AND message_id > ?";
    /// Marks a bucket non-empty.
    INSERT_BUCKET = "INSERT INTO channel_buckets (channel_id, bucket) VALUES (?, ?)";
    /// Records a send's nonce (expires with the table's TTL), at the write
    /// time bound last.
    INSERT_NONCE = "INSERT INTO nonces (user_id, nonce, message_id) VALUES (?, ?, ?) USING TIMESTAMP ?";
    /// The message a nonce produced.
    SELECT_NONCE = "SELECT message_id FROM nonces WHERE user_id = ? AND nonce = ?";
    /// Non-empty buckets at or below one, newest first (the clustering order).
    SELECT_BUCKETS_DOWN = "SELECT bucket FROM channel_buckets WHERE channel_id = ? AND bucket <= ?";
    /// Non-empty buckets from one to another.
    SELECT_BUCKETS_BETWEEN = "SELECT bucket FROM channel_buckets WHERE channel_id = ? AND bucket >= ? AND bucket <= ?";
    /// Non-empty buckets at or above one, oldest first.
    SELECT_BUCKETS_UP = "SELECT bucket FROM channel_buckets WHERE channel_id = ? AND bucket >= ? ORDER BY bucket ASC";
    /// One bucket's messages below an id, newest first.
    SELECT_MESSAGES_BEFORE = "SELECT message_id, guild_id, author_id, author_username, content, nonce, edited_at, reply_to, mention_users, mention_roles, mention_everyone, pinned, reactions, webhook_id, author_bot FROM messages WHERE channel_id = ? AND bucket = ? AND message_id < ?";
    /// One bucket's messages above an id, oldest first.
    SELECT_MESSAGES_AFTER = "SELECT message_id, guild_id, author_id, author_username, content, nonce, edited_at, reply_to, mention_users, mention_roles, mention_everyone, pinned, reactions, webhook_id, author_bot FROM messages WHERE channel_id = ? AND bucket = ? AND message_id > ? ORDER BY message_id ASC";

    /// Pins a setting on first use (a lightweight transaction).
    PIN_META = "INSERT INTO store_meta (name, value) VALUES (?, ?) IF NOT EXISTS";
    /// A pinned setting (read before claiming: a pinned store needs no
    /// lightweight transaction to open).
    SELECT_META = "SELECT value FROM store_meta WHERE name = ?";

    /// Bootstrap of `rookery migrate`: the applied-migrations ledger.
    CREATE_MIGRATIONS = "CREATE TABLE IF NOT EXISTS schema_migrations (version int, name text, checksum text, applied_at timestamp, PRIMARY KEY (version))";
    /// Bootstrap of `rookery migrate`: the lock that serialises migrators.
    CREATE_LOCK = "CREATE TABLE IF NOT EXISTS schema_lock (id int, owner text, PRIMARY KEY (id))";
    /// Takes the migration lock for a lease (a TTL in seconds): it frees
    /// itself if its holder dies.
    ACQUIRE_LOCK =
        "INSERT INTO schema_lock (id, owner) VALUES (0, ?) IF NOT EXISTS USING TTL ?";
    /// Extends the lease of the migration lock, only if we still hold it.
    RENEW_LOCK = "UPDATE schema_lock USING TTL ? SET owner = ? WHERE id = 0 IF owner = ?";
    /// Frees the migration lock, only if we hold it.
    RELEASE_LOCK = "DELETE FROM schema_lock WHERE id = 0 IF owner = ?";
    /// Migrations applied so far.
    SELECT_MIGRATIONS = "SELECT version, name, checksum FROM schema_migrations";
    /// Records an applied migration.
    INSERT_MIGRATION = "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)";
}

/// `statement` with its table named in `keyspace`: every statement here
/// names one table, right after `INSERT INTO `, `FROM ` or `UPDATE `.
pub fn qualify(keyspace: &str, statement: &str) -> String {
    for marker in ["INSERT INTO ", " FROM ", "UPDATE "] {
        if let Some(at) = statement.find(marker) {
            let at = at + marker.len();
            return format!("{}{keyspace}.{}", &statement[..at], &statement[at..]);
        }
    }
    statement.to_owned()
}

/// Whether a keyspace has a table (the lock's, before it is created).
pub const SELECT_TABLE: &str =
    "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_is_qualified_once_at_its_table() {
        let not_ddl = ALL.iter().filter(|(_, s)| !s.starts_with("CREATE "));
        for (name, statement) in not_ddl {
            let qualified = qualify("ks", statement);
            assert_eq!(qualified.matches("ks.").count(), 1, "{name}: {qualified}");
            assert_eq!(qualified.replacen("ks.", "", 1), *statement, "{name}");
        }
        let select = qualify("ks", SELECT_USER);
        assert_eq!(select, "SELECT id, username FROM ks.users WHERE id = ?");
    }
}
