//! Discord's permission arithmetic, as the server does it
//! (`rookery-proto/src/permissions.rs`), so the client shows only the
//! actions the server will allow. The server still decides: a refused
//! action shows its error.

export const P = {
  CREATE_INSTANT_INVITE: 1n << 0n,
  KICK_MEMBERS: 1n << 1n,
  BAN_MEMBERS: 1n << 2n,
  ADMINISTRATOR: 1n << 3n,
  MANAGE_CHANNELS: 1n << 4n,
  MANAGE_GUILD: 1n << 5n,
  ADD_REACTIONS: 1n << 6n,
  VIEW_AUDIT_LOG: 1n << 7n,
  VIEW_CHANNEL: 1n << 10n,
  SEND_MESSAGES: 1n << 11n,
  MANAGE_MESSAGES: 1n << 13n,
  READ_MESSAGE_HISTORY: 1n << 16n,
  MENTION_EVERYONE: 1n << 17n,
  MANAGE_ROLES: 1n << 28n,
  MANAGE_WEBHOOKS: 1n << 29n,
  MODERATE_MEMBERS: 1n << 40n,
};

const ALL = Object.values(P).reduce((a, b) => a | b, 0n);

/** What every recipient of a DM or group DM may do. */
const PRIVATE = P.ADD_REACTIONS | P.VIEW_CHANNEL | P.SEND_MESSAGES | P.READ_MESSAGE_HISTORY;

/**
 * @typedef {{id: string, permissions: string}} Role
 * @typedef {{id: string, type: number, allow: string, deny: string}} Overwrite
 * @typedef {{id: string, owner_id: string, roles: Role[]}} GuildShape
 * @typedef {{id: string, guild_id?: string | null, permission_overwrites?: Overwrite[]}} ChannelShape
 */

/**
 * A member's permissions in a guild, or in one of its channels.
 * @param {GuildShape} guild
 * @param {string} userId
 * @param {string[]} memberRoles
 * @param {ChannelShape} [channel]
 * @param {boolean} [timedOut]
 */
export function permissions(guild, userId, memberRoles, channel, timedOut = false) {
  if (guild.owner_id === userId) return ALL;
  const bits = (/** @type {string | undefined} */ s) => BigInt(s ?? "0");
  const roleBits = (/** @type {string} */ id) => bits(guild.roles.find((r) => r.id === id)?.permissions);
  let base = roleBits(guild.id);
  for (const role of memberRoles) base |= roleBits(role);
  if (base & P.ADMINISTRATOR) return ALL;
  if (!channel) return base;
  const overwrites = channel.permission_overwrites ?? [];
  const find = (/** @type {string} */ id, /** @type {number} */ type) =>
    overwrites.find((o) => o.id === id && o.type === type);
  let p = base;
  const everyone = find(guild.id, 0);
  if (everyone) p = (p & ~bits(everyone.deny)) | bits(everyone.allow);
  let allow = 0n;
  let deny = 0n;
  for (const role of memberRoles) {
    const o = find(role, 0);
    if (o) {
      allow |= bits(o.allow);
      deny |= bits(o.deny);
    }
  }
  p = (p & ~deny) | allow;
  const own = find(userId, 1);
  if (own) p = (p & ~bits(own.deny)) | bits(own.allow);
  if (!(p & P.VIEW_CHANNEL)) return 0n;
  if (!(p & P.SEND_MESSAGES)) p &= ~P.MENTION_EVERYONE;
  if (timedOut) p &= P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY;
  return p;
}

/** Permissions in a private channel. */
export const privatePermissions = PRIVATE;
