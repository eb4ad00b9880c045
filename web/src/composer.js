//! The message box: Enter sends (Shift+Enter is a new line), `@` offers the
//! channel's members and inserts a mention (`<@id>`), a reply shows what it
//! answers, and typing tells the channel (at most every 8 s, the server
//! shows it for 10).

import { h, fill } from "./dom.js";

/** @typedef {import("./state.js").State} State */

const TYPING_EVERY_MS = 8_000;
const SUGGESTIONS = 8;

export class Composer {
  /**
   * @param {State} state
   * @param {string} channelId
   * @param {object} hooks
   * @param {(content: string, replyTo: string | null) => void} hooks.send
   * @param {() => void} hooks.typing
   * @param {() => {id: string, username: string}[]} hooks.candidates who may be mentioned
   * @param {boolean} canSend
   */
  constructor(state, channelId, hooks, canSend) {
    this.state = state;
    this.channelId = channelId;
    this.hooks = hooks;
    /** @type {string | null} */
    this.replyTo = null;
    this.lastTyping = 0;
    /** @type {{id: string, username: string}[]} */
    this.matches = [];
    this.selected = 0;
    this.replyBar = h("div", { class: "reply-bar", hidden: true });
    this.suggestions = h("ul", { class: "suggestions", role: "listbox", id: `mentions-${channelId}`, hidden: true });
    const channel = state.channels.get(channelId);
    this.input = h("textarea", {
      class: "input",
      rows: 1,
      "aria-label": `Message ${channel ? state.channelName(channel) : ""}`,
      placeholder: canSend ? `Message ${channel ? state.channelName(channel) : ""}` : "You cannot send messages here",
      disabled: !canSend,
      "aria-autocomplete": "list",
      "aria-controls": `mentions-${channelId}`,
      onkeydown: (/** @type {KeyboardEvent} */ e) => this.key(e),
      oninput: () => this.changed(),
    });
    this.element = h("div", { class: "composer" }, this.replyBar, this.suggestions, this.input);
  }

  /** @param {string} messageId */
  replyingTo(messageId) {
    this.replyTo = messageId;
    const message = this.state.log(this.channelId).byId.get(messageId);
    fill(
      this.replyBar,
      h("span", {}, "Replying to ", h("strong", {}, message?.author.username ?? "a message")),
      h("button", { class: "link", "aria-label": "Cancel reply", onclick: () => this.cancelReply() }, "✕"),
    );
    this.replyBar.hidden = false;
    this.input.focus();
  }

  cancelReply() {
    this.replyTo = null;
    this.replyBar.hidden = true;
  }

  /** @param {KeyboardEvent} e */
  key(e) {
    if (!this.suggestions.hidden) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const step = e.key === "ArrowDown" ? 1 : -1;
        this.selected = (this.selected + step + this.matches.length) % this.matches.length;
        this.showSuggestions();
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        this.pick(this.matches[this.selected]);
        return;
      }
      if (e.key === "Escape") {
        this.suggestions.hidden = true;
        return;
      }
    }
    if (e.key === "Escape" && this.replyTo) this.cancelReply();
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      const content = this.input.value.trim();
      if (!content) return;
      this.hooks.send(content, this.replyTo);
      // The message ended the others' indicator: the next keystroke says
      // "typing" again at once.
      this.lastTyping = 0;
      this.input.value = "";
      this.cancelReply();
      this.suggestions.hidden = true;
    }
  }

  changed() {
    const now = Date.now();
    if (this.input.value.trim() && now - this.lastTyping > TYPING_EVERY_MS) {
      this.lastTyping = now;
      this.hooks.typing();
    }
    const prefix = this.mentionPrefix();
    if (prefix === null) {
      this.suggestions.hidden = true;
      return;
    }
    const wanted = prefix.toLowerCase();
    this.matches = this.hooks
      .candidates()
      .filter((u) => u.username.toLowerCase().startsWith(wanted))
      .slice(0, SUGGESTIONS);
    this.selected = 0;
    this.showSuggestions();
  }

  /** The word after an `@` just before the caret, if the caret is in one. */
  mentionPrefix() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const match = /(?:^|\s)@([\w.-]*)$/.exec(before);
    return match ? match[1] : null;
  }

  showSuggestions() {
    this.suggestions.hidden = this.matches.length === 0;
    fill(
      this.suggestions,
      this.matches.map((user, i) =>
        h(
          "li",
          {
            role: "option",
            "aria-selected": String(i === this.selected),
            onmousedown: (/** @type {Event} */ e) => {
              e.preventDefault();
              this.pick(user);
            },
          },
          `@${user.username}`,
        ),
      ),
    );
  }

  /** @param {{id: string, username: string} | undefined} user */
  pick(user) {
    if (!user) return;
    const caret = this.input.selectionStart;
    const before = this.input.value.slice(0, caret).replace(/@[\w.-]*$/, `<@${user.id}> `);
    this.input.value = before + this.input.value.slice(caret);
    this.input.selectionStart = this.input.selectionEnd = before.length;
    this.suggestions.hidden = true;
    this.input.focus();
  }
}
