//! The message list: a window of at most `MOST_SHOWN` messages of a channel's
//! log in the DOM however many are loaded (10,000 stay fast), moved as the
//! reader scrolls, and older pages fetched when its top reaches the oldest
//! loaded message. The window is kept as the id of its first message, so
//! pages inserted above it and deletions inside it do not move what the
//! reader sees; the scroll position follows the message on screen.

import { compareIds } from "./dom.js";

/**
 * @typedef {import("./messages.js").Message} Message
 * @typedef {import("./messages.js").Pending} Pending
 * @typedef {import("./messages.js").ChannelLog} ChannelLog
 * @typedef {Message | Pending} Item
 */

/** Messages in the DOM when following the newest. */
const SHOWN = 100;
/** Messages the window moves by. */
const STEP = 50;
/** The most messages in the DOM at once. */
const MOST_SHOWN = 200;
/** Pixels from an edge at which the window moves or a page loads. */
const EDGE_PX = 600;

/** @param {Item} item */
export function itemKey(item) {
  return "author" in item ? item.id : `pending:${item.nonce}`;
}

export class MessageList {
  /**
   * @param {ChannelLog} log
   * @param {object} hooks
   * @param {(item: Item) => HTMLElement} hooks.render
   * @param {() => Promise<void>} hooks.loadOlder
   * @param {() => void} hooks.onBottom the newest message is on screen
   * @param {HTMLElement} hooks.header shown above the oldest message once reached
   */
  constructor(log, hooks) {
    this.log = log;
    this.hooks = hooks;
    this.scroller = document.createElement("div");
    this.scroller.className = "scroller";
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute("role", "log");
    this.scroller.setAttribute("aria-label", "Messages");
    this.list = document.createElement("ol");
    this.list.className = "messages";
    this.scroller.append(hooks.header, this.list);
    /** @type {Map<string, HTMLElement>} */
    this.nodes = new Map();
    /** @type {Set<string>} */
    this.dirty = new Set();
    /** Following the newest message. */
    this.stick = true;
    /** @type {string | null} the first shown message's id, when not following */
    this.startId = null;
    this.count = SHOWN;
    this.scheduled = false;
    this.scroller.addEventListener("scroll", () => this.schedule());
  }

  /** @returns {Item[]} */
  items() {
    return [...this.log.messages, ...this.log.pending];
  }

  /** @param {string} key the message redraws on the next render */
  invalidate(key) {
    this.dirty.add(key);
  }

  /** Shows the newest messages and follows them. */
  toBottom() {
    this.stick = true;
    this.render();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.scrolled();
    });
  }

  scrolled() {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    const fromBottom = scrollHeight - scrollTop - clientHeight;
    const [start, end] = this.bounds();
    const total = this.items().length;
    this.stick = fromBottom < 40 && end === total;
    if (this.stick) this.hooks.onBottom();
    if (scrollTop < EDGE_PX && start > 0) {
      this.moveUp(start, end);
    } else if (scrollTop < EDGE_PX && !this.log.reachedStart && !this.log.loadingOlder) {
      this.fix(start, end);
      this.hooks.loadOlder().then(() => {
        this.render();
        // Still at the top, and now with messages above the window: move
        // it up (no scroll event comes while the position stays at 0).
        if (this.bounds()[0] > 0) this.scrolled();
      });
    } else if (fromBottom < EDGE_PX && end < total) {
      this.moveDown(start, end);
    }
  }

  /** Keeps the current window by its first id while the log changes above it. */
  fix(/** @type {number} */ start, /** @type {number} */ end) {
    this.startId = this.log.messages[start]?.id ?? null;
    this.count = end - start;
  }

  /** @param {number} start @param {number} end */
  moveUp(start, end) {
    const newStart = Math.max(0, start - STEP);
    this.startId = this.log.messages[newStart]?.id ?? null;
    this.count = Math.min(MOST_SHOWN, end - newStart);
    this.stick = false;
    this.render();
  }

  /** @param {number} start @param {number} end */
  moveDown(start, end) {
    const newEnd = Math.min(this.items().length, end + STEP);
    const newStart = Math.max(start, newEnd - MOST_SHOWN);
    this.startId = this.log.messages[newStart]?.id ?? null;
    this.count = newEnd - newStart;
    this.render();
  }

  /** The window as indexes into `items()`. */
  bounds() {
    const total = this.items().length;
    if (this.stick || this.startId === null) return [Math.max(0, total - SHOWN), total];
    const start = lowerBound(this.log.messages, this.startId);
    return [start, Math.min(total, start + this.count)];
  }

  /** Brings the DOM to the window, keeping the message on screen in place. */
  render() {
    const [start, end] = this.bounds();
    if (this.stick) this.fix(start, end);
    const anchor = this.stick ? null : this.anchor();
    const slice = this.items().slice(start, end);
    const wanted = new Set(slice.map(itemKey));
    for (const [key, node] of this.nodes) {
      if (!wanted.has(key)) {
        node.remove();
        this.nodes.delete(key);
      }
    }
    /** @type {ChildNode | null} */
    let next = this.list.firstChild;
    for (const item of slice) {
      const node = this.node(item);
      // A redrawn message took its old node's place, which may be `next`.
      if (next !== null && next.parentNode !== this.list) next = node;
      if (node !== next) this.list.insertBefore(node, next);
      next = node.nextSibling;
    }
    this.dirty.clear();
    this.hooks.header.hidden = !(this.log.reachedStart && start === 0);
    if (this.stick) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
    } else if (anchor?.node.isConnected) {
      this.scroller.scrollTop = anchor.node.offsetTop - anchor.offset;
    }
  }

  /** @param {Item} item */
  node(item) {
    const key = itemKey(item);
    let node = this.nodes.get(key);
    if (!node || this.dirty.has(key)) {
      const fresh = this.hooks.render(item);
      fresh.dataset.key = key;
      node?.replaceWith(fresh);
      node = fresh;
      this.nodes.set(key, node);
    }
    return node;
  }

  /** The first message whose bottom is below the top of the view. */
  anchor() {
    const top = this.scroller.scrollTop;
    for (const node of /** @type {HTMLElement[]} */ ([...this.list.children])) {
      if (node.offsetTop + node.offsetHeight > top) return { node, offset: node.offsetTop - top };
    }
    return null;
  }
}

/**
 * The index of the first message whose id is not below `id`.
 * @param {Message[]} messages
 * @param {string} id
 */
function lowerBound(messages, id) {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (compareIds(messages[mid].id, id) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}
