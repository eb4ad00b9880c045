//! The side panes: the guild bar (direct messages, guilds, a new guild),
//! the channel list with unread markers and mention badges, invites and
//! the connection line; and the member list with presence dots and what
//! the reader may do to each member (a DM, kick, ban, time out).

import { h, fill, ask } from "./dom.js";
import { P } from "./permissions.js";
import { openSettings } from "./settings.js";

/** @typedef {import("./app.js").App} App */

export class Sidebar {
  /** @param {App} app */
  constructor(app) {
    this.app = app;
    this.guildBar = h("nav", { class: "guild-bar", "aria-label": "Guilds" });
    this.channelPane = h("nav", { class: "channel-pane", "aria-label": "Channels" });
    this.element = h("div", { class: "sidebar" }, this.guildBar, this.channelPane);
    app.state.on("guilds", () => this.render());
    app.state.on("reads", () => this.render());
  }

  render() {
    this.renderGuildBar();
    this.renderChannels();
  }

  renderGuildBar() {
    const { app } = this;
    const state = app.state;
    const unreadIn = (/** @type {string[]} */ ids) => ids.some((id) => state.reads.get(id)?.unread);
    const mentionsIn = (/** @type {string[]} */ ids) => ids.reduce((n, id) => n + (state.reads.get(id)?.mentions ?? 0), 0);
    const privateIds = state.privateChannels().map((c) => c.id);
    const button = (/** @type {string} */ id, /** @type {string} */ label, /** @type {string} */ text, /** @type {string[]} */ channels) =>
      h(
        "button",
        {
          class: ["guild", app.guildId === id && "current", unreadIn(channels) && "unread"].filter(Boolean).join(" "),
          "aria-label": label,
          "aria-current": app.guildId === id ? "page" : false,
          onclick: () => app.showGuild(id),
        },
        text,
        mentionsIn(channels) > 0 ? h("span", { class: "badge" }, String(mentionsIn(channels))) : null,
      );
    fill(
      this.guildBar,
      button("@me", "Direct messages", "✉", privateIds),
      [...state.guilds.values()].map((g) => button(g.id, g.name, initials(g.name), g.channels)),
      h("button", { class: "guild add", "aria-label": "Create a guild", onclick: () => this.createGuild() }, "+"),
    );
  }

  renderChannels() {
    const { app } = this;
    const state = app.state;
    const guild = app.guildId && app.guildId !== "@me" ? state.guilds.get(app.guildId) : undefined;
    const channels = app.guildId === "@me" ? state.privateChannels() : guild ? state.guildChannels(guild.id) : [];
    fill(
      this.channelPane,
      h(
        "header",
        { class: "pane-header" },
        h("h2", {}, app.guildId === "@me" ? "Direct messages" : (guild?.name ?? "Rookery")),
        guild ? h("button", { class: "icon", "aria-label": "Guild settings", onclick: () => openSettings(app, guild.id) }, "⚙") : null,
      ),
      h("ul", { class: "channels" }, channels.filter((c) => app.channelPermissions(c.id) & P.VIEW_CHANNEL).map((c) => this.channelItem(c))),
      this.paneActions(guild?.id ?? null),
      h("div", { class: "invite-slot" }),
      h("span", { class: "grow" }),
      h("footer", { class: "me" }, app.linkLine, h("div", {}, h("strong", {}, state.me.username), " ", h("button", { class: "link", onclick: () => app.logout() }, "Log out"))),
    );
  }

  /**
   * A channel's entry: its name, bold when unread, and its mention count.
   * @param {import("./state.js").Channel} channel
   */
  channelItem(channel) {
    const state = this.app.state;
    const read = state.reads.get(channel.id);
    const current = state.viewing === channel.id;
    return h(
      "li",
      {},
      h(
        "button",
        {
          class: ["channel", current && "current", read?.unread && !current && "unread"].filter(Boolean).join(" "),
          "aria-current": current ? "page" : false,
          dataset: { channel: channel.id },
          onclick: () => this.app.openChannel(channel.id),
        },
        state.channelName(channel),
        read?.mentions ? h("span", { class: "badge", "aria-label": `${read.mentions} mentions` }, String(read.mentions)) : null,
      ),
    );
  }

  /**
   * What the reader may add here: a channel, an invite, a group DM.
   * @param {string | null} guildId null for the direct messages
   */
  paneActions(guildId) {
    const { app } = this;
    const viewing = app.state.viewing;
    if (!guildId) {
      return app.guildId === "@me" ? h("button", { class: "link", onclick: () => this.createGroup() }, "+ New group") : null;
    }
    return [
      app.guildPermissions(guildId) & P.MANAGE_CHANNELS ? h("button", { class: "link", onclick: () => this.createChannel(guildId) }, "+ New channel") : null,
      viewing && app.channelPermissions(viewing) & P.CREATE_INSTANT_INVITE
        ? h("button", { class: "link", onclick: () => this.invite(viewing) }, "Invite people")
        : null,
    ];
  }

  async createGuild() {
    const name = await ask("New guild", "Guild name");
    if (!name?.trim()) return;
    try {
      const guild = await this.app.api.post("/guilds", { name: name.trim() });
      this.app.state.putGuild(guild);
      this.app.showGuild(guild.id);
    } catch (error) {
      this.app.failed(error);
    }
  }

  /** @param {string} guildId */
  async createChannel(guildId) {
    const name = await ask("New channel", "Channel name");
    if (!name?.trim()) return;
    try {
      const channel = await this.app.api.post(`/guilds/${guildId}/channels`, { name: name.trim() });
      this.app.state.putChannel({ ...channel, guild_id: guildId });
      this.app.openChannel(channel.id);
    } catch (error) {
      this.app.failed(error);
    }
  }

  /** A day-long invite to the channel, shown as a link to copy. @param {string} channelId */
  async invite(channelId) {
    try {
      const invite = await this.app.api.post(`/channels/${channelId}/invites`, { max_age: 86400 });
      const link = `${location.origin}/invite/${invite.code}`;
      const field = h("input", { class: "invite-link", readonly: true, value: link, "aria-label": "Invite link" });
      const slot = /** @type {HTMLElement} */ (this.channelPane.querySelector(".invite-slot"));
      fill(slot, h("label", {}, "Invite link (24 h)", field), h("button", { class: "link", onclick: () => navigator.clipboard?.writeText(link) }, "Copy"));
      field.select();
    } catch (error) {
      this.app.failed(error);
    }
  }

  /** A group DM with people the reader shares a guild with. */
  async createGroup() {
    const state = this.app.state;
    const names = await ask("New group", "Usernames, separated by commas");
    if (!names) return;
    const wanted = names.split(",").map((n) => n.trim().toLowerCase()).filter(Boolean);
    const ids = [...state.users.values()].filter((u) => wanted.includes(u.username.toLowerCase()) && u.id !== state.me.id).map((u) => u.id);
    if (ids.length !== wanted.length) {
      this.app.notify("Only people you share a guild with can be added by name.");
      return;
    }
    try {
      const channel = await this.app.api.post("/users/@me/channels", { recipients: ids });
      state.putChannel(channel);
      this.app.showGuild("@me", channel.id);
    } catch (error) {
      this.app.failed(error);
    }
  }
}

export class MemberList {
  /** @param {App} app */
  constructor(app) {
    this.app = app;
    this.element = h("aside", { class: "members", "aria-label": "Members" });
    app.state.on("presence", () => this.render());
    app.state.on("guilds", () => this.render());
    this.unsubscribe = () => {};
  }

  render() {
    const { app } = this;
    const state = app.state;
    const guildId = app.guildId;
    this.unsubscribe();
    if (!guildId || guildId === "@me") {
      const channel = state.viewing ? state.channels.get(state.viewing) : undefined;
      fill(this.element, h("h2", {}, "Members"), h("ul", { class: "member-list" }, (channel?.recipients ?? []).map((u) => this.row(u, null))));
      return;
    }
    this.unsubscribe = state.on(`members:${guildId}`, () => this.render());
    const members = [...(state.members.get(guildId)?.values() ?? [])];
    const rank = (/** @type {string} */ id) => (state.presence.get(id) ?? "offline") === "offline" ? 1 : 0;
    members.sort((a, b) => rank(a.user.id) - rank(b.user.id) || a.user.username.localeCompare(b.user.username));
    fill(this.element, h("h2", {}, `Members — ${members.length}`), h("ul", { class: "member-list" }, members.map((m) => this.row(m.user, m))));
  }

  /**
   * @param {import("./messages.js").User} user
   * @param {import("./state.js").Member | null} member
   */
  row(user, member) {
    const { app } = this;
    const me = app.state.me.id;
    const status = user.id === me ? "online" : (app.state.presence.get(user.id) ?? "offline");
    const guildId = member && app.guildId && app.guildId !== "@me" ? app.guildId : null;
    const perms = guildId ? app.guildPermissions(guildId) : 0n;
    const owner = guildId ? app.state.guilds.get(guildId)?.owner_id === user.id : false;
    const may = (/** @type {bigint} */ bit) => user.id !== me && !owner && (perms & bit) !== 0n;
    const until = member?.communication_disabled_until;
    const timedOut = Boolean(until && Date.parse(until) > Date.now());
    const act = (/** @type {string} */ label, /** @type {() => Promise<unknown>} */ run) =>
      h("button", { class: "action", onclick: () => run().catch((e) => app.failed(e)) }, label);
    return h(
      "li",
      { class: "member", dataset: { user: user.id } },
      h("span", { class: `dot ${status}`, role: "img", "aria-label": status }),
      h("span", { class: "name" }, user.username),
      user.bot ? h("span", { class: "tag" }, "BOT") : null,
      timedOut ? h("span", { class: "tag" }, "timed out") : null,
      h(
        "span",
        { class: "member-actions" },
        user.id !== me ? act("Message", () => app.openDm(user.id)) : null,
        guildId && may(P.MODERATE_MEMBERS)
          ? act(timedOut ? "End timeout" : "Time out 10 min", () =>
              app.api.patch(`/guilds/${guildId}/members/${user.id}`, {
                communication_disabled_until: timedOut ? null : new Date(Date.now() + 600_000).toISOString(),
              }),
            )
          : null,
        guildId && may(P.KICK_MEMBERS) ? act("Kick", () => app.api.delete(`/guilds/${guildId}/members/${user.id}`)) : null,
        guildId && may(P.BAN_MEMBERS) ? act("Ban", () => app.api.put(`/guilds/${guildId}/bans/${user.id}`, {})) : null,
      ),
    );
  }
}

/** @param {string} name */
function initials(name) {
  return name
    .split(/\s+/)
    .map((w) => w[0])
    .join("")
    .slice(0, 3)
    .toUpperCase();
}
