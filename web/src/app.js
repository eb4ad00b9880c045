//! The signed-in client: one `State`, the REST client and the gateway, the
//! three panes (guilds and channels, the channel, members) and the actions
//! every view calls. Sends go over the gateway with a nonce and show at once
//! as pending; SEND_ACK confirms them, SEND_ERROR marks them failed with a
//! retry, and a send made while disconnected goes out (same nonce, so at
//! most once) as soon as the session is live again.

import { Api, ApiError } from "./api.js";
import { Gateway } from "./gateway.js";
import { State } from "./state.js";
import { applyDispatch } from "./dispatch.js";
import { ChatView } from "./chat.js";
import { Sidebar, MemberList } from "./sidebar.js";
import { h, fill, nonce, compareIds } from "./dom.js";
import { permissions, privatePermissions } from "./permissions.js";

/**
 * @typedef {import("./messages.js").Message} Message
 * @typedef {import("./messages.js").Pending} Pending
 */

const PAGE = 50;
/** Recovery sends at most this many messages per channel; more are paged. */
const RECOVERY_PAGE = 100;

export class App {
  /**
   * @param {HTMLElement} root
   * @param {string} token
   * @param {() => void} onLogout
   */
  constructor(root, token, onLogout) {
    this.root = root;
    this.token = token;
    this.onLogout = onLogout;
    this.state = new State();
    this.api = new Api(token);
    this.api.onUnauthorized = () => this.logout();
    /** @type {string | null} "@me" for private channels */
    this.guildId = null;
    /** @type {ChatView | null} */
    this.chat = null;
    /** Messages recovered per channel since the last READY. */
    this.recovered = new Map();
    this.recovering = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.toastTimer = undefined;
    this.linkLine = h("div", { class: "link", role: "status", "aria-live": "polite" }, "connecting…");
    this.toast = h("div", { class: "toast", role: "alert", hidden: true });
    this.sidebar = new Sidebar(this);
    this.members = new MemberList(this);
    this.chatSlot = h("div", { class: "chat-slot" }, h("main", { class: "chat empty" }, h("p", {}, "Pick a channel.")));
    this.shell = h("div", { class: "shell", dataset: { pane: "chat" } }, this.sidebar.element, this.chatSlot, this.members.element, this.toast);
    this.gateway = new Gateway({
      token,
      onDispatch: (type, data) => this.dispatched(type, data),
      onReply: (op, data) => this.replied(op, data),
      onState: (state, detail) => this.linkChanged(state, detail),
      lastMessageIds: () => this.state.lastMessageIds(),
      onTerminal: (code) => (code === 4004 ? this.logout() : this.notify(`disconnected (${code})`)),
    });
    document.addEventListener("visibilitychange", () => {
      if (this.state.viewing) this.readIfSeen(this.state.viewing);
    });
  }

  start() {
    fill(this.root, this.shell);
    this.gateway.connect();
  }

  logout() {
    this.gateway.stop();
    this.onLogout();
  }

  /** @param {string} text */
  notify(text) {
    this.toast.textContent = text;
    this.toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (this.toast.hidden = true), 6000);
  }

  /** @param {unknown} error */
  failed(error) {
    this.notify(error instanceof ApiError ? `${error.message} (${error.code || error.status})` : String(error));
  }

  /** @param {"channels" | "chat" | "members"} pane on a narrow screen, the one shown */
  showPane(pane) {
    this.shell.dataset.pane = this.shell.dataset.pane === pane ? "chat" : pane;
  }

  /** @param {import("./gateway.js").LinkState} state @param {string} detail */
  linkChanged(state, detail) {
    const words = {
      connecting: "connecting…",
      identifying: "signing in…",
      resuming: "resuming…",
      live: "connected",
      waiting: `reconnecting (${detail})`,
      stopped: `offline ${detail}`,
    };
    this.linkLine.textContent = words[state];
    this.linkLine.dataset.state = state;
  }

  /** @param {string} type @param {any} data */
  dispatched(type, data) {
    if (type === "MESSAGE_CREATE" && this.recovering) {
      this.recovered.set(data.channel_id, (this.recovered.get(data.channel_id) ?? 0) + 1);
    }
    applyDispatch(this.state, type, data);
    if (type === "READY" || type === "RESUMED") this.live(type === "READY");
    if (type === "GUILD_DELETE" && this.guildId === data.id) this.showGuild(null);
    // The first guild (made or joined elsewhere) is shown at once.
    if (type === "GUILD_CREATE" && !this.guildId) this.showGuild(data.id);
    if (this.changesWhatICanDo(type, data)) this.refreshChat();
    if (type === "CHANNEL_DELETE" && this.state.viewing === data.id) this.openChannel(null);
  }

  /**
   * Whether an event may change what the reader may do in the channel on
   * screen (a timeout, a role, an overwrite).
   * @param {string} type
   * @param {any} data
   */
  changesWhatICanDo(type, data) {
    const viewing = this.state.viewing ? this.state.channels.get(this.state.viewing) : undefined;
    if (!viewing?.guild_id) return false;
    switch (type) {
      case "GUILD_MEMBER_UPDATE":
        return data.guild_id === viewing.guild_id && data.user.id === this.state.me.id;
      case "GUILD_ROLE_UPDATE":
      case "GUILD_ROLE_DELETE":
        return data.guild_id === viewing.guild_id;
      case "CHANNEL_UPDATE":
        return data.id === viewing.id;
      default:
        return false;
    }
  }

  /** Redraws the channel on screen with the reader's permissions now, keeping the draft. */
  refreshChat() {
    const draft = this.chat?.composer.input.value ?? "";
    this.openChannel(this.state.viewing);
    if (this.chat) this.chat.composer.input.value = draft;
  }

  /** The session is live: redraw, send what waited, page what recovery could not send. */
  live(/** @type {boolean} */ fresh) {
    if (fresh) {
      this.recovering = true;
      this.recovered.clear();
      setTimeout(() => this.catchUp(), 2000);
      if (this.guildId && this.guildId !== "@me" && !this.state.guilds.has(this.guildId)) this.showGuild(null);
      if (this.guildId && this.guildId !== "@me") this.loadMembers(this.guildId);
      if (!this.guildId) this.restoreLocation();
    }
    for (const [channelId, log] of this.state.logs) {
      for (const pending of log.pending) if (pending.status === "pending") this.transmit(channelId, pending);
    }
  }

  /** Channels whose recovery filled a whole page are read on with `after=`. */
  async catchUp() {
    this.recovering = false;
    for (const [channelId, count] of this.recovered) {
      if (count < RECOVERY_PAGE) continue;
      const log = this.state.log(channelId);
      for (;;) {
        const newest = log.newestId();
        if (!newest) break;
        /** @type {Message[]} */
        const page = await this.api.get(`/channels/${channelId}/messages?after=${newest}&limit=100`).catch(() => []);
        log.insertPage(page);
        this.state.emit(`messages:${channelId}`, {});
        if (page.length < 100) break;
      }
    }
  }

  restoreLocation() {
    const [guildId, channelId] = location.hash.slice(1).split("/");
    if (guildId && (guildId === "@me" || this.state.guilds.has(guildId))) {
      this.showGuild(guildId, channelId && this.state.channels.has(channelId) ? channelId : null);
    } else {
      const first = this.state.guilds.keys().next().value;
      if (first) this.showGuild(first);
    }
  }

  /**
   * @param {string | null} guildId
   * @param {string | null} [channelId] the channel to open, else the first readable one
   */
  showGuild(guildId, channelId = null) {
    this.guildId = guildId;
    this.sidebar.render();
    this.members.render();
    if (guildId && guildId !== "@me") this.loadMembers(guildId);
    const channels = guildId === "@me" ? this.state.privateChannels() : guildId ? this.state.guildChannels(guildId) : [];
    const readable = channels.find((c) => this.channelPermissions(c.id) & 1024n);
    this.openChannel(channelId ?? readable?.id ?? null);
  }

  /** @param {string} guildId */
  async loadMembers(guildId) {
    try {
      /** @type {import("./state.js").Member[]} */
      const members = await this.api.get(`/guilds/${guildId}/members?limit=1000`);
      const byUser = new Map();
      for (const member of members) {
        this.state.remember(member.user);
        byUser.set(member.user.id, member);
      }
      this.state.members.set(guildId, byUser);
      this.state.emit(`members:${guildId}`);
      this.state.emit("guilds");
    } catch (error) {
      this.failed(error);
    }
  }

  /** @param {string | null} channelId */
  openChannel(channelId) {
    this.chat?.destroy();
    this.chat = null;
    this.state.viewing = channelId;
    const channel = channelId ? this.state.channels.get(channelId) : undefined;
    if (!channelId || !channel) {
      fill(this.chatSlot, h("main", { class: "chat empty" }, h("p", {}, this.guildId ? "No channel here yet." : "Create a guild or join one with an invite.")));
      this.sidebar.render();
      return;
    }
    location.hash = `${this.guildId ?? ""}/${channelId}`;
    this.chat = new ChatView(this, channelId);
    fill(this.chatSlot, this.chat.element);
    this.shell.dataset.pane = "chat";
    this.sidebar.render();
    const log = this.state.log(channelId);
    if (log.loaded) {
      this.chat.list.toBottom();
      this.readIfSeen(channelId);
    } else {
      this.loadLatest(channelId);
    }
    this.chat.composer.input.focus();
  }

  /** @param {string} channelId */
  async loadLatest(channelId) {
    const log = this.state.log(channelId);
    try {
      /** @type {Message[]} */
      const page = await this.api.get(`/channels/${channelId}/messages?limit=${PAGE}`);
      log.insertPage(page);
      log.loaded = true;
      log.reachedStart = page.length < PAGE;
    } catch (error) {
      this.failed(error);
    }
    if (this.chat?.channelId === channelId) {
      this.chat.list.toBottom();
      this.readIfSeen(channelId);
    }
  }

  /** @param {string} channelId */
  async loadOlder(channelId) {
    const log = this.state.log(channelId);
    const oldest = log.messages[0]?.id;
    if (log.reachedStart || log.loadingOlder || !oldest) return;
    log.loadingOlder = true;
    try {
      /** @type {Message[]} */
      const page = await this.api.get(`/channels/${channelId}/messages?before=${oldest}&limit=${PAGE}`);
      log.insertPage(page);
      log.reachedStart = page.length < PAGE;
    } catch (error) {
      this.failed(error);
    } finally {
      log.loadingOlder = false;
    }
  }

  /** Acks the channel when its newest message is on screen. @param {string} channelId */
  readIfSeen(channelId) {
    if (this.state.viewing !== channelId || document.visibilityState !== "visible") return;
    if (!this.chat?.list.stick) return;
    const newest = this.state.log(channelId).newestId();
    const read = this.state.read(channelId);
    if (!newest || (read.lastReadId && compareIds(newest, read.lastReadId) <= 0 && !read.unread)) return;
    this.state.markRead(channelId, newest);
    if (this.gateway.live) this.gateway.send(23, { channel_id: channelId, message_id: newest });
    else this.api.post(`/channels/${channelId}/messages/${newest}/ack`).catch(() => {});
  }

  /** @param {string} channelId */
  isPrivate(channelId) {
    const type = this.state.channels.get(channelId)?.type;
    return type === 1 || type === 3;
  }

  /** @param {string} channelId */
  channelPermissions(channelId) {
    const channel = this.state.channels.get(channelId);
    if (!channel) return 0n;
    if (this.isPrivate(channelId)) return privatePermissions;
    const guild = channel.guild_id ? this.state.guilds.get(channel.guild_id) : undefined;
    if (!guild) return 0n;
    const member = this.state.members.get(guild.id)?.get(this.state.me.id);
    const until = member?.communication_disabled_until;
    const timedOut = Boolean(until && Date.parse(until) > Date.now());
    return permissions(guild, this.state.me.id, member?.roles ?? [], channel, timedOut);
  }

  /** @param {string} guildId */
  guildPermissions(guildId) {
    const guild = this.state.guilds.get(guildId);
    if (!guild) return 0n;
    return permissions(guild, this.state.me.id, this.state.myRoles(guildId));
  }

  /** Who a message in the channel can mention. @param {string} channelId */
  mentionable(channelId) {
    const channel = this.state.channels.get(channelId);
    if (!channel) return [];
    if (!channel.guild_id) return channel.recipients ?? [];
    return [...(this.state.members.get(channel.guild_id)?.values() ?? [])].map((m) => m.user).filter((u) => u.id !== this.state.me.id);
  }

  /**
   * @param {string} channelId
   * @param {string} content
   * @param {string | null} replyTo
   */
  send(channelId, content, replyTo) {
    /** @type {Pending} */
    const pending = { nonce: nonce(), content, replyTo, status: "pending", error: "", id: null };
    this.state.log(channelId).pending.push(pending);
    this.state.emit(`messages:${channelId}`, {});
    this.chat?.list.toBottom();
    if (this.gateway.live) this.transmit(channelId, pending);
  }

  /** @param {string} channelId @param {Pending} pending */
  transmit(channelId, pending) {
    /** @type {Record<string, unknown>} */
    const frame = { channel_id: channelId, nonce: pending.nonce, content: pending.content };
    if (pending.replyTo) frame.message_reference = { message_id: pending.replyTo, fail_if_not_exists: false };
    this.gateway.send(20, frame);
  }

  /** SEND_ACK or SEND_ERROR for one of our nonces. @param {number} op @param {any} data */
  replied(op, data) {
    for (const [channelId, log] of this.state.logs) {
      const pending = log.pending.find((p) => p.nonce === data.nonce);
      if (!pending) continue;
      if (op === 21) {
        pending.status = "sent";
        pending.id = data.id;
      } else if (typeof data.retry_after === "number") {
        // A rate limit (slow mode, the channel's write limit): the same
        // send passes after the wait, so it goes again by itself.
        pending.error = "waiting for the rate limit";
        setTimeout(() => {
          if (log.pending.includes(pending) && this.gateway.live) this.transmit(channelId, pending);
        }, data.retry_after * 1000 + 50);
      } else {
        pending.status = "failed";
        pending.error = data.message;
      }
      this.chat?.list.invalidate(`pending:${pending.nonce}`);
      this.state.emit(`messages:${channelId}`, {});
    }
  }

  /** @param {string} channelId @param {string} pendingNonce */
  retry(channelId, pendingNonce) {
    const pending = this.state.log(channelId).pending.find((p) => p.nonce === pendingNonce);
    if (!pending) return;
    pending.status = "pending";
    this.chat?.list.invalidate(`pending:${pending.nonce}`);
    this.state.emit(`messages:${channelId}`, {});
    if (this.gateway.live) this.transmit(channelId, pending);
  }

  /** @param {string} channelId @param {string} pendingNonce */
  discard(channelId, pendingNonce) {
    const log = this.state.log(channelId);
    log.pending = log.pending.filter((p) => p.nonce !== pendingNonce);
    this.state.emit(`messages:${channelId}`, {});
  }

  /** @param {Message} message @param {string} emoji @param {boolean} add */
  toggleReaction(message, emoji, add) {
    const path = `/channels/${message.channel_id}/messages/${message.id}/reactions/${encodeURIComponent(emoji)}/@me`;
    (add ? this.api.put(path) : this.api.delete(path)).catch((e) => this.failed(e));
  }

  /** @param {Message} message @param {boolean} pinned */
  pin(message, pinned) {
    const path = `/channels/${message.channel_id}/pins/${message.id}`;
    (pinned ? this.api.put(path) : this.api.delete(path)).catch((e) => this.failed(e));
  }

  /** @param {Message} message */
  deleteMessage(message) {
    this.api.delete(`/channels/${message.channel_id}/messages/${message.id}`).catch((e) => this.failed(e));
  }

  /** @param {Message} message @param {string} content */
  async editMessage(message, content) {
    await this.api.patch(`/channels/${message.channel_id}/messages/${message.id}`, { content }).catch((e) => this.failed(e));
  }

  /** Opens (or finds) the DM with a user and shows it. @param {string} userId */
  async openDm(userId) {
    try {
      const channel = await this.api.post("/users/@me/channels", { recipient_id: userId });
      this.state.putChannel(channel);
      this.showGuild("@me", channel.id);
    } catch (error) {
      this.failed(error);
    }
  }
}
