//! Applies each gateway dispatch to the client's `State` and says which
//! views changed. Events the client does not know are ignored, as the
//! protocol asks (additive changes keep the version).

/** @typedef {import("./state.js").State} State */

/**
 * @param {State} state
 * @param {string} type
 * @param {any} data
 */
export function applyDispatch(state, type, data) {
  const handler = HANDLERS[type];
  if (handler) handler(state, data);
}

/** @type {Record<string, (state: State, data: any) => void>} */
const HANDLERS = {
  READY: ready,
  MESSAGE_CREATE: messageCreate,
  MESSAGE_UPDATE(state, data) {
    if (state.log(data.channel_id).update(data)) state.emit(`messages:${data.channel_id}`, { update: data.id });
  },
  MESSAGE_DELETE(state, data) {
    if (state.log(data.channel_id).remove(data.id)) state.emit(`messages:${data.channel_id}`, {});
  },
  MESSAGE_DELETE_BULK(state, data) {
    for (const id of data.ids) state.log(data.channel_id).remove(id);
    state.emit(`messages:${data.channel_id}`, {});
  },
  MESSAGE_REACTION_ADD(state, data) {
    reaction(state, data, +1);
  },
  MESSAGE_REACTION_REMOVE(state, data) {
    reaction(state, data, -1);
  },
  MESSAGE_REACTION_REMOVE_ALL(state, data) {
    if (state.log(data.channel_id).clearReactions(data.message_id, null)) {
      state.emit(`messages:${data.channel_id}`, { update: data.message_id });
    }
  },
  MESSAGE_REACTION_REMOVE_EMOJI(state, data) {
    if (state.log(data.channel_id).clearReactions(data.message_id, data.emoji.name)) {
      state.emit(`messages:${data.channel_id}`, { update: data.message_id });
    }
  },
  CHANNEL_PINS_UPDATE(state, data) {
    if (state.log(data.channel_id).update({ id: data.message_id, pinned: data.pinned })) {
      state.emit(`messages:${data.channel_id}`, { update: data.message_id });
    }
    state.emit(`pins:${data.channel_id}`);
  },
  MESSAGE_ACK(state, data) {
    state.markRead(data.channel_id, data.message_id);
  },
  TYPING_START(state, data) {
    state.startTyping(data.channel_id, data.user_id);
  },
  PRESENCE_UPDATE(state, data) {
    state.presence.set(data.user.id, data.status);
    state.emit("presence");
  },
  GUILD_CREATE(state, data) {
    state.putGuild(data);
    state.emit("guilds");
  },
  GUILD_UPDATE(state, data) {
    const guild = state.guilds.get(data.id);
    if (!guild) return;
    Object.assign(guild, { name: data.name, owner_id: data.owner_id, roles: data.roles ?? guild.roles });
    state.emit("guilds");
  },
  GUILD_DELETE(state, data) {
    state.dropGuild(data.id);
    state.emit("guilds");
  },
  CHANNEL_CREATE: putChannel,
  CHANNEL_UPDATE: putChannel,
  CHANNEL_DELETE(state, data) {
    state.dropChannel(data.id);
    state.emit("guilds");
  },
  CHANNEL_RECIPIENT_ADD(state, data) {
    recipients(state, data, true);
  },
  CHANNEL_RECIPIENT_REMOVE(state, data) {
    recipients(state, data, false);
  },
  GUILD_ROLE_CREATE: putRole,
  GUILD_ROLE_UPDATE: putRole,
  GUILD_ROLE_DELETE(state, data) {
    const guild = state.guilds.get(data.guild_id);
    if (guild) guild.roles = guild.roles.filter((r) => r.id !== data.role_id);
    state.emit("guilds");
  },
  GUILD_MEMBER_ADD: putMember,
  GUILD_MEMBER_UPDATE: putMember,
  GUILD_MEMBER_REMOVE(state, data) {
    state.members.get(data.guild_id)?.delete(data.user.id);
    state.emit(`members:${data.guild_id}`);
  },
};

/** @param {State} state @param {any} data */
function ready(state, data) {
  state.me = data.user;
  state.remember(data.user);
  for (const id of [...state.guilds.keys()]) state.dropGuild(id);
  state.channels.clear();
  for (const guild of data.guilds) state.putGuild(guild);
  for (const channel of data.private_channels ?? []) state.putChannel(channel);
  for (const read of data.read_state ?? []) {
    const held = state.read(read.id);
    Object.assign(held, { lastReadId: read.last_message_id, unread: read.unread, mentions: read.mention_count });
    held.counted.clear();
  }
  state.presence.clear();
  for (const presence of data.presences ?? []) state.presence.set(presence.user.id, presence.status);
  state.emit("guilds");
  state.emit("reads");
  state.emit("presence");
}

/** @param {State} state @param {any} data */
function messageCreate(state, data) {
  state.remember(data.author);
  state.stopTyping(data.channel_id, data.author.id);
  const log = state.log(data.channel_id);
  const hadPending = Boolean(data.nonce) && log.pending.some((p) => p.nonce === data.nonce);
  // A channel never opened keeps no messages (its history is read when it
  // is), but its unread state still counts them.
  if ((log.loaded && log.insert(data)) || hadPending) {
    if (!log.loaded) log.pending = log.pending.filter((p) => p.nonce !== data.nonce);
    state.emit(`messages:${data.channel_id}`, { added: data.id });
  }
  state.countUnread(data);
}

/** @param {State} state @param {any} data @param {number} delta */
function reaction(state, data, delta) {
  const mine = data.user_id === state.me.id;
  if (state.log(data.channel_id).react(data.message_id, data.emoji.name, delta, mine)) {
    state.emit(`messages:${data.channel_id}`, { update: data.message_id });
  }
}

/** @param {State} state @param {any} data */
function putChannel(state, data) {
  state.putChannel(data);
  state.emit("guilds");
}

/** @param {State} state @param {any} data @param {boolean} added */
function recipients(state, data, added) {
  const channel = state.channels.get(data.channel_id);
  if (!channel) return;
  state.remember(data.user);
  const others = (channel.recipients ?? []).filter((u) => u.id !== data.user.id);
  channel.recipients = added ? [...others, data.user] : others;
  state.emit("guilds");
}

/** @param {State} state @param {any} data */
function putRole(state, data) {
  const guild = state.guilds.get(data.guild_id);
  if (!guild) return;
  guild.roles = [...guild.roles.filter((r) => r.id !== data.role.id), data.role];
  state.emit("guilds");
}

/** @param {State} state @param {any} data */
function putMember(state, data) {
  state.remember(data.user);
  const members = state.members.get(data.guild_id);
  if (members) members.set(data.user.id, data);
  state.emit(`members:${data.guild_id}`);
  if (data.user.id === state.me.id) state.emit("guilds");
}
