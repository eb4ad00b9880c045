//! A channel's messages as the client holds them: the loaded part of its
//! history in id order with no id twice (delivery is at least once), the
//! sends still waiting for their SEND_ACK, and the edits, deletions and
//! reactions that arrive for them.

import { compareIds } from "./dom.js";

/**
 * @typedef {{id: string, username: string, bot?: boolean}} User
 * @typedef {{emoji: {id: null, name: string}, count: number, me: boolean}} Reaction
 * @typedef {{
 *   id: string, channel_id: string, guild_id?: string | null, author: User, content: string,
 *   nonce?: string | null, timestamp: string, edited_timestamp: string | null, type: number,
 *   message_reference?: {message_id: string}, mentions: User[], mention_roles: string[],
 *   mention_everyone: boolean, pinned: boolean, reactions?: Reaction[]
 * }} Message
 * @typedef {{nonce: string, content: string, replyTo: string | null, status: "pending" | "sent" | "failed", error: string, id: string | null}} Pending
 */

export class ChannelLog {
  constructor() {
    /** @type {Message[]} in id order */
    this.messages = [];
    /** @type {Map<string, Message>} */
    this.byId = new Map();
    /** @type {Pending[]} own sends not yet seen as MESSAGE_CREATE, in send order */
    this.pending = [];
    /** Whether the newest page has been read (live events extend it). */
    this.loaded = false;
    /** Whether the oldest message is loaded. */
    this.reachedStart = false;
    this.loadingOlder = false;
  }

  /** The newest message's id, if any is loaded. */
  newestId() {
    return this.messages.at(-1)?.id ?? null;
  }

  /**
   * Adds a message unless its id is already here; answers whether it was new.
   * A message carrying one of our pending nonces replaces that send.
   * @param {Message} message
   */
  insert(message) {
    if (message.nonce) this.pending = this.pending.filter((p) => p.nonce !== message.nonce);
    if (this.byId.has(message.id)) return false;
    this.byId.set(message.id, message);
    const last = this.messages.at(-1);
    if (!last || compareIds(last.id, message.id) < 0) {
      this.messages.push(message);
    } else {
      const index = this.messages.findIndex((m) => compareIds(m.id, message.id) > 0);
      this.messages.splice(index, 0, message);
    }
    return true;
  }

  /**
   * A page of history (any order).
   * @param {Message[]} page
   */
  insertPage(page) {
    for (const message of page) this.insert(message);
  }

  /** @param {Partial<Message> & {id: string}} update */
  update(update) {
    const message = this.byId.get(update.id);
    if (!message) return false;
    // MESSAGE_UPDATE carries no reactions: keep the counts held.
    const { reactions } = message;
    Object.assign(message, update, { reactions });
    return true;
  }

  /** @param {string} id */
  remove(id) {
    if (!this.byId.delete(id)) return false;
    this.messages.splice(
      this.messages.findIndex((m) => m.id === id),
      1,
    );
    return true;
  }

  /**
   * A reaction added or removed by `userId` (`me`: the reader).
   * @param {string} messageId
   * @param {string} emoji
   * @param {number} delta +1 or -1
   * @param {boolean} mine
   */
  react(messageId, emoji, delta, mine) {
    const message = this.byId.get(messageId);
    if (!message) return false;
    const reactions = (message.reactions ??= []);
    let reaction = reactions.find((r) => r.emoji.name === emoji);
    if (!reaction) {
      if (delta < 0) return false;
      reaction = { emoji: { id: null, name: emoji }, count: 0, me: false };
      reactions.push(reaction);
    }
    reaction.count = Math.max(0, reaction.count + delta);
    if (mine) reaction.me = delta > 0;
    message.reactions = reactions.filter((r) => r.count > 0);
    return true;
  }

  /**
   * Every reaction cleared, or those with one emoji.
   * @param {string} messageId
   * @param {string | null} emoji
   */
  clearReactions(messageId, emoji) {
    const message = this.byId.get(messageId);
    if (!message) return false;
    message.reactions = emoji === null ? [] : (message.reactions ?? []).filter((r) => r.emoji.name !== emoji);
    return true;
  }
}
