//! Everything the client knows, kept up to date by the gateway's dispatches:
//! the user, guilds with their channels and roles, private channels,
//! members, presences, typing, read states and each channel's messages.
//! Views subscribe to topics (`guilds`, `messages:<channel>`, ...) and
//! redraw what changed.

import { ChannelLog } from "./messages.js";
import { compareIds } from "./dom.js";

/**
 * @typedef {import("./messages.js").Message} Message
 * @typedef {import("./messages.js").User} User
 * @typedef {{id: string, name: string, permissions: string, position: number, color?: number, hoist?: boolean, mentionable?: boolean}} Role
 * @typedef {{id: string, type: number, allow: string, deny: string}} Overwrite
 * @typedef {{
 *   id: string, type: number, name: string | null, guild_id?: string | null, position?: number,
 *   permission_overwrites?: Overwrite[], rate_limit_per_user?: number, recipients?: User[], owner_id?: string
 * }} Channel
 * @typedef {{id: string, name: string, owner_id: string, roles: Role[], channels: string[]}} Guild
 * @typedef {{user: User, roles: string[], joined_at: string, communication_disabled_until: string | null}} Member
 * @typedef {{lastReadId: string | null, unread: boolean, mentions: number, counted: Set<string>}} ReadState
 */

/** How long a typing indicator shows without a renewal (docs/protocol.md). */
const TYPING_MS = 10_000;

export class State {
  constructor() {
    /** @type {User} */
    this.me = { id: "", username: "" };
    /** @type {Map<string, Guild>} */
    this.guilds = new Map();
    /** @type {Map<string, Channel>} */
    this.channels = new Map();
    /** @type {Map<string, ChannelLog>} */
    this.logs = new Map();
    /** @type {Map<string, ReadState>} */
    this.reads = new Map();
    /** @type {Map<string, Map<string, Member>>} by guild, then user */
    this.members = new Map();
    /** @type {Map<string, User>} */
    this.users = new Map();
    /** @type {Map<string, string>} user → status */
    this.presence = new Map();
    /** @type {Map<string, Map<string, number>>} channel → user → until (ms) */
    this.typing = new Map();
    /** The channel on screen, whose new messages are read as they come. */
    this.viewing = /** @type {string | null} */ (null);
    /** @type {Map<string, Set<(detail: any) => void>>} */
    this.listeners = new Map();
  }

  /**
   * @param {string} topic
   * @param {(detail: any) => void} listener
   * @returns {() => void} unsubscribes
   */
  on(topic, listener) {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** @param {string} topic @param {any} [detail] */
  emit(topic, detail) {
    // A copy: a listener that re-subscribes would otherwise be called again
    // by the same iteration (a Set visits entries added while iterating).
    for (const listener of [...(this.listeners.get(topic) ?? [])]) listener(detail);
  }

  /** @param {string} channelId */
  log(channelId) {
    let log = this.logs.get(channelId);
    if (!log) this.logs.set(channelId, (log = new ChannelLog()));
    return log;
  }

  /** @param {string} channelId */
  read(channelId) {
    let read = this.reads.get(channelId);
    if (!read) this.reads.set(channelId, (read = { lastReadId: null, unread: false, mentions: 0, counted: new Set() }));
    return read;
  }

  /** @param {User} user */
  remember(user) {
    const known = this.users.get(user.id);
    if (known) Object.assign(known, user);
    else this.users.set(user.id, { ...user });
  }

  /** @param {string} id */
  username(id) {
    return this.users.get(id)?.username ?? `user ${id.slice(-4)}`;
  }

  /** @param {string} guildId */
  myRoles(guildId) {
    return this.members.get(guildId)?.get(this.me.id)?.roles ?? [];
  }

  /** The newest id held for each loaded channel, most recent first, at most 100. */
  lastMessageIds() {
    /** @type {Record<string, string>} */
    const ids = {};
    const held = [...this.logs].filter(([id, log]) => log.loaded && log.newestId() && this.channels.has(id));
    held.sort((a, b) => compareIds(/** @type {string} */ (b[1].newestId()), /** @type {string} */ (a[1].newestId())));
    for (const [id, log] of held.slice(0, 100)) ids[id] = /** @type {string} */ (log.newestId());
    return ids;
  }

  /**
   * Whether a message notifies the reader (Discord's mention rules).
   * @param {Message} message
   */
  mentionsMe(message) {
    if (message.mention_everyone) return true;
    if (message.mentions.some((u) => u.id === this.me.id)) return true;
    const roles = message.guild_id ? this.myRoles(message.guild_id) : [];
    return message.mention_roles.some((r) => roles.includes(r));
  }

  /**
   * Counts a message others sent toward its channel's unread state once.
   * @param {Message} message
   */
  countUnread(message) {
    if (message.author.id === this.me.id || message.channel_id === this.viewing) return;
    const read = this.read(message.channel_id);
    if (read.lastReadId && compareIds(message.id, read.lastReadId) <= 0) return;
    if (read.counted.has(message.id)) return;
    read.counted.add(message.id);
    read.unread = true;
    if (this.mentionsMe(message)) read.mentions += 1;
    this.emit("reads", message.channel_id);
  }

  /**
   * The channel is read up to `messageId` (our ack, or one of our other sessions').
   * @param {string} channelId
   * @param {string} messageId
   */
  markRead(channelId, messageId) {
    const read = this.read(channelId);
    if (read.lastReadId && compareIds(messageId, read.lastReadId) < 0) return;
    read.lastReadId = messageId;
    const newest = this.logs.get(channelId)?.newestId();
    if (!newest || compareIds(newest, messageId) <= 0) {
      read.unread = false;
      read.mentions = 0;
      read.counted.clear();
    }
    this.emit("reads", channelId);
  }

  /**
   * Someone typing, shown until `TYPING_MS` pass or their message arrives.
   * @param {string} channelId
   * @param {string} userId
   */
  startTyping(channelId, userId) {
    if (userId === this.me.id) return;
    let users = this.typing.get(channelId);
    if (!users) this.typing.set(channelId, (users = new Map()));
    users.set(userId, Date.now() + TYPING_MS);
    this.emit(`typing:${channelId}`);
    setTimeout(() => this.emit(`typing:${channelId}`), TYPING_MS + 50);
  }

  /** @param {string} channelId @param {string} userId */
  stopTyping(channelId, userId) {
    if (this.typing.get(channelId)?.delete(userId)) this.emit(`typing:${channelId}`);
  }

  /** @param {string} channelId */
  typingNow(channelId) {
    const now = Date.now();
    return [...(this.typing.get(channelId) ?? [])].filter(([, until]) => until > now).map(([id]) => id);
  }

  /** @param {Channel} channel */
  putChannel(channel) {
    const known = this.channels.get(channel.id);
    if (known) Object.assign(known, channel);
    else this.channels.set(channel.id, channel);
    for (const user of channel.recipients ?? []) this.remember(user);
    const guild = channel.guild_id ? this.guilds.get(channel.guild_id) : undefined;
    if (guild && !guild.channels.includes(channel.id)) guild.channels.push(channel.id);
  }

  /** @param {string} channelId */
  dropChannel(channelId) {
    const channel = this.channels.get(channelId);
    this.channels.delete(channelId);
    const guild = channel?.guild_id ? this.guilds.get(channel.guild_id) : undefined;
    if (guild) guild.channels = guild.channels.filter((id) => id !== channelId);
  }

  /** @param {any} guild a guild object as READY and GUILD_CREATE give it */
  putGuild(guild) {
    const known = this.guilds.get(guild.id);
    const roles = guild.roles ?? known?.roles ?? [];
    if (known) for (const id of known.channels) this.channels.delete(id);
    this.guilds.set(guild.id, { id: guild.id, name: guild.name, owner_id: guild.owner_id, roles, channels: [] });
    for (const channel of guild.channels ?? []) this.putChannel({ ...channel, guild_id: guild.id });
  }

  /** @param {string} guildId */
  dropGuild(guildId) {
    for (const id of this.guilds.get(guildId)?.channels ?? []) this.channels.delete(id);
    this.guilds.delete(guildId);
    this.members.delete(guildId);
  }

  /**
   * A guild's channels in their order.
   * @param {string} guildId
   */
  guildChannels(guildId) {
    const guild = this.guilds.get(guildId);
    if (!guild) return [];
    return guild.channels
      .map((id) => /** @type {Channel} */ (this.channels.get(id)))
      .filter(Boolean)
      .sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || compareIds(a.id, b.id));
  }

  /** Private channels (DMs and group DMs), newest activity first. */
  privateChannels() {
    const newest = (/** @type {Channel} */ c) => this.logs.get(c.id)?.newestId() ?? c.id;
    return [...this.channels.values()]
      .filter((c) => c.type === 1 || c.type === 3)
      .sort((a, b) => compareIds(newest(b), newest(a)));
  }

  /**
   * A private channel's name as its reader sees it.
   * @param {Channel} channel
   */
  channelName(channel) {
    if (channel.type !== 1 && channel.type !== 3) return `#${channel.name}`;
    return channel.name || (channel.recipients ?? []).map((u) => u.username).join(", ") || "(just you)";
  }
}
