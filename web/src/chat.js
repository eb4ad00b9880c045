//! A channel on screen: its header, the message list with each message's
//! actions (reply, react, edit and delete one's own, pin and delete others'
//! where allowed), who is typing, the pins, and the message box.

import { h, fill } from "./dom.js";
import { MessageList } from "./message_list.js";
import { Composer } from "./composer.js";
import { P } from "./permissions.js";

/**
 * @typedef {import("./app.js").App} App
 * @typedef {import("./messages.js").Message} Message
 * @typedef {import("./messages.js").Pending} Pending
 */

/** The reactions offered by the + button (any unicode emoji works on the wire). */
const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "👀"];

export class ChatView {
  /**
   * @param {App} app
   * @param {string} channelId
   */
  constructor(app, channelId) {
    this.app = app;
    this.channelId = channelId;
    const state = app.state;
    const channel = state.channels.get(channelId);
    this.perms = app.channelPermissions(channelId);
    /** @type {string | null} */
    this.editing = null;
    const log = state.log(channelId);
    const beginning = h("div", { class: "beginning", hidden: true }, `This is the beginning of ${channel ? state.channelName(channel) : "the channel"}.`);
    this.list = new MessageList(log, {
      render: (item) => ("author" in item ? this.message(item) : this.pending(item)),
      loadOlder: () => app.loadOlder(channelId),
      onBottom: () => app.readIfSeen(channelId),
      header: beginning,
    });
    this.composer = new Composer(
      state,
      channelId,
      {
        send: (content, replyTo) => app.send(channelId, content, replyTo),
        typing: () => app.api.post(`/channels/${channelId}/typing`).catch(() => {}),
        candidates: () => app.mentionable(channelId),
      },
      (this.perms & P.SEND_MESSAGES) !== 0n,
    );
    this.typingLine = h("div", { class: "typing", "aria-live": "polite" });
    this.pins = h("section", { class: "pins", hidden: true, "aria-label": "Pinned messages" });
    this.element = h(
      "main",
      { class: "chat", "aria-label": channel ? state.channelName(channel) : "Channel" },
      this.header(channel ? state.channelName(channel) : ""),
      this.pins,
      this.list.scroller,
      this.typingLine,
      this.composer.element,
    );
    this.unsubscribe = [
      state.on(`messages:${channelId}`, (detail) => this.changed(detail)),
      state.on(`typing:${channelId}`, () => this.showTyping()),
      state.on(`pins:${channelId}`, () => {
        if (!this.pins.hidden) this.loadPins();
      }),
    ];
  }

  /** @param {string} title */
  header(title) {
    return h(
      "header",
      { class: "chat-header" },
      h("button", { class: "link only-narrow", "aria-label": "Channels", onclick: () => this.app.showPane("channels") }, "Channels"),
      h("h2", {}, title),
      h("span", { class: "grow" }),
      h("button", { class: "link", "aria-label": "Pinned messages", onclick: () => this.togglePins() }, "Pins"),
      h("button", { class: "link only-narrow", "aria-label": "Members", onclick: () => this.app.showPane("members") }, "Members"),
    );
  }

  destroy() {
    for (const off of this.unsubscribe) off();
  }

  /** @param {{added?: string, update?: string}} detail */
  changed(detail) {
    if (detail?.update) this.list.invalidate(detail.update);
    this.list.render();
    if (detail?.added) this.app.readIfSeen(this.channelId);
  }

  showTyping() {
    const names = this.app.state.typingNow(this.channelId).map((id) => this.app.state.username(id));
    this.typingLine.textContent =
      names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
  }

  /** @param {Message} message */
  message(message) {
    const state = this.app.state;
    const mine = message.author.id === state.me.id;
    const classes = ["message", mine && "mine", state.mentionsMe(message) && "mentioned"].filter(Boolean).join(" ");
    return h(
      "li",
      { class: classes, dataset: { id: message.id }, tabindex: 0 },
      message.message_reference ? this.replyHeader(message.message_reference.message_id) : null,
      h(
        "div",
        { class: "meta" },
        h("span", { class: "author" }, message.author.username),
        message.author.bot ? h("span", { class: "tag" }, "BOT") : null,
        h("time", { datetime: message.timestamp }, formatTime(message.timestamp)),
        message.edited_timestamp ? h("span", { class: "edited" }, "(edited)") : null,
        message.pinned ? h("span", { class: "pinned", "aria-label": "pinned" }, "📌") : null,
      ),
      this.editing === message.id ? this.editor(message) : h("div", { class: "content" }, this.content(message.content)),
      this.reactions(message),
      this.actions(message, mine),
    );
  }

  /** @param {string} messageId */
  replyHeader(messageId) {
    const target = this.app.state.log(this.channelId).byId.get(messageId);
    const text = target ? `${target.author.username}: ${target.content.slice(0, 80)}` : "a message not loaded";
    return h("div", { class: "reply-to" }, `↪ ${text}`);
  }

  /**
   * Text with mentions shown by name.
   * @param {string} content
   */
  content(content) {
    const state = this.app.state;
    /** @type {(string | HTMLElement)[]} */
    const parts = [];
    let last = 0;
    for (const match of content.matchAll(/<@!?(\d+)>|<@&(\d+)>|@everyone|@here/g)) {
      parts.push(content.slice(last, match.index));
      const label = match[1]
        ? `@${state.username(match[1])}`
        : match[2]
          ? `@${this.roleName(match[2])}`
          : match[0];
      parts.push(h("span", { class: "mention" }, label));
      last = (match.index ?? 0) + match[0].length;
    }
    parts.push(content.slice(last));
    return parts;
  }

  /** @param {string} roleId */
  roleName(roleId) {
    const channel = this.app.state.channels.get(this.channelId);
    const guild = channel?.guild_id ? this.app.state.guilds.get(channel.guild_id) : undefined;
    return guild?.roles.find((r) => r.id === roleId)?.name ?? "role";
  }

  /** @param {Message} message */
  reactions(message) {
    const list = message.reactions ?? [];
    if (list.length === 0) return null;
    return h(
      "div",
      { class: "reactions" },
      list.map((r) =>
        h(
          "button",
          {
            class: r.me ? "reaction me" : "reaction",
            "aria-pressed": String(r.me),
            "aria-label": `${r.emoji.name} ${r.count}`,
            onclick: () => this.app.toggleReaction(message, r.emoji.name, !r.me),
          },
          `${r.emoji.name} ${r.count}`,
        ),
      ),
    );
  }

  /** @param {Message} message @param {boolean} mine */
  actions(message, mine) {
    const manage = (this.perms & P.MANAGE_MESSAGES) !== 0n || this.app.isPrivate(this.channelId);
    const act = (/** @type {string} */ label, /** @type {() => void} */ run) =>
      h("button", { class: "action", "aria-label": label, onclick: run }, label);
    return h(
      "div",
      { class: "actions" },
      act("Reply", () => this.composer.replyingTo(message.id)),
      h(
        "details",
        { class: "react-menu" },
        h("summary", { "aria-label": "Add reaction" }, "☺+"),
        QUICK_REACTIONS.map((emoji) =>
          h("button", { class: "emoji", "aria-label": `React ${emoji}`, onclick: () => this.app.toggleReaction(message, emoji, true) }, emoji),
        ),
      ),
      mine ? act("Edit", () => this.edit(message.id)) : null,
      mine || (this.perms & P.MANAGE_MESSAGES) !== 0n ? this.deleteButton(message) : null,
      manage ? act(message.pinned ? "Unpin" : "Pin", () => this.app.pin(message, !message.pinned)) : null,
    );
  }

  /** A delete that asks once more in place (no blocking dialog). @param {Message} message */
  deleteButton(message) {
    const button = h("button", { class: "action danger", "aria-label": "Delete" }, "Delete");
    button.addEventListener("click", () => {
      if (button.dataset.armed) {
        this.app.deleteMessage(message);
      } else {
        button.dataset.armed = "1";
        button.textContent = "Delete?";
        button.setAttribute("aria-label", "Confirm delete");
      }
    });
    return button;
  }

  /** @param {string} id */
  edit(id) {
    this.editing = id;
    this.list.invalidate(id);
    this.list.render();
    /** @type {HTMLTextAreaElement | null} */ (this.list.list.querySelector(`[data-id="${id}"] textarea`))?.focus();
  }

  /** @param {Message} message */
  editor(message) {
    const done = () => {
      this.editing = null;
      this.list.invalidate(message.id);
      this.list.render();
    };
    const input = h("textarea", { class: "edit-input", "aria-label": "Edit message", value: message.content });
    const save = async () => {
      const content = input.value.trim();
      if (content && content !== message.content) await this.app.editMessage(message, content);
      done();
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        save();
      } else if (e.key === "Escape") {
        done();
      }
    });
    return h(
      "div",
      { class: "editor" },
      input,
      h("button", { class: "action", onclick: save }, "Save"),
      h("button", { class: "action", onclick: done }, "Cancel"),
    );
  }

  /** @param {Pending} pending */
  pending(pending) {
    const failed = pending.status === "failed";
    return h(
      "li",
      { class: `message mine pending ${pending.status}` },
      h("div", { class: "meta" }, h("span", { class: "author" }, this.app.state.me.username), h("span", { class: "status" }, failed ? `not sent: ${pending.error}` : pending.status === "sent" ? "sent" : pending.error ? `sending… (${pending.error})` : "sending…")),
      h("div", { class: "content" }, pending.content),
      failed
        ? h(
            "div",
            { class: "actions" },
            h("button", { class: "action", onclick: () => this.app.retry(this.channelId, pending.nonce) }, "Retry"),
            h("button", { class: "action", onclick: () => this.app.discard(this.channelId, pending.nonce) }, "Discard"),
          )
        : null,
    );
  }

  async togglePins() {
    this.pins.hidden = !this.pins.hidden;
    if (!this.pins.hidden) await this.loadPins();
  }

  async loadPins() {
    /** @type {Message[]} */
    const pins = await this.app.api.get(`/channels/${this.channelId}/pins`).catch(() => []);
    fill(
      this.pins,
      h("h3", {}, "Pinned messages"),
      pins.length === 0 ? h("p", {}, "Nothing is pinned.") : null,
      h(
        "ul",
        {},
        pins.map((m) => h("li", {}, h("strong", {}, m.author.username), " ", this.content(m.content))),
      ),
    );
  }
}

/** @param {string} timestamp */
function formatTime(timestamp) {
  const date = new Date(timestamp);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : date.toLocaleString();
}

