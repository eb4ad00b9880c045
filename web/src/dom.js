//! A tiny DOM builder: the client's views are plain elements made here,
//! never HTML strings, so user text is always text and the page needs no
//! inline script or markup parsing (see the Content-Security-Policy).

/**
 * @typedef {string | number | boolean | null | undefined | ((event: any) => void) | Record<string, string>} AttrValue
 * @typedef {Node | string | null | undefined | false} Child
 */

/**
 * Makes an element: `h("button", {class: "x", onclick: f}, "text")`.
 * Attributes starting with `on` become listeners; `dataset` is an object;
 * `false`, `null` and `undefined` values are left out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, AttrValue>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset" && typeof value === "object") {
      Object.assign(element.dataset, value);
    } else if (name === "value" && "value" in element) {
      /** @type {any} */ (element).value = String(value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/**
 * @param {Element} parent
 * @param {(Child | Child[])[]} children
 */
function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/**
 * Replaces an element's children.
 * @param {Element} parent
 * @param {...(Child | Child[])} children
 */
export function fill(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * Orders snowflake ids (decimal strings of different lengths).
 * @param {string} a
 * @param {string} b
 */
export function compareIds(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Snowflake epoch: 2025-01-01T00:00:00Z (docs/protocol.md, "Ids"). */
const EPOCH_MS = 1735689600000n;

/**
 * A snowflake's creation time.
 * @param {string} id
 */
export function idTime(id) {
  return new Date(Number((BigInt(id) >> 22n) + EPOCH_MS));
}

/**
 * A fresh nonce for a send (idempotency key, ≤ 64 bytes).
 */
export function nonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Asks for one line of text in a modal dialog (no blocking `prompt`).
 * @param {string} title
 * @param {string} label
 * @returns {Promise<string | null>} the trimmed text, or null if cancelled
 */
export function ask(title, label) {
  return new Promise((resolve) => {
    const input = h("input", { name: "answer", required: true, maxlength: 100, "aria-label": label });
    const dialog = h(
      "dialog",
      { class: "ask", "aria-label": title },
      h(
        "form",
        { method: "dialog" },
        h("h2", {}, title),
        h("label", {}, label, input),
        h("menu", {}, h("button", { value: "cancel", formnovalidate: true }, "Cancel"), h("button", { value: "ok", class: "primary" }, "OK")),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
