//! Guild settings, for those allowed: the guild's name, roles and their
//! permissions, the current channel's permission overwrites, live invites,
//! and the audit log. Each section shows only if the reader's permissions
//! allow it; the server decides, and a refusal shows its error.

import { h, fill, idTime } from "./dom.js";
import { P } from "./permissions.js";

/** @typedef {import("./app.js").App} App */

/** The permissions a role or overwrite editor offers, by name. */
const EDITABLE = /** @type {[string, bigint][]} */ ([
  ["View channels", P.VIEW_CHANNEL],
  ["Send messages", P.SEND_MESSAGES],
  ["Read history", P.READ_MESSAGE_HISTORY],
  ["Add reactions", P.ADD_REACTIONS],
  ["Mention @everyone", P.MENTION_EVERYONE],
  ["Create invites", P.CREATE_INSTANT_INVITE],
  ["Manage messages", P.MANAGE_MESSAGES],
  ["Manage channels", P.MANAGE_CHANNELS],
  ["Manage roles", P.MANAGE_ROLES],
  ["Manage guild", P.MANAGE_GUILD],
  ["Kick", P.KICK_MEMBERS],
  ["Ban", P.BAN_MEMBERS],
  ["Time out", P.MODERATE_MEMBERS],
  ["View audit log", P.VIEW_AUDIT_LOG],
  ["Administrator", P.ADMINISTRATOR],
]);

/** Discord's audit log action types that Rookery records (docs/protocol.md). */
const ACTIONS = /** @type {Record<number, string>} */ ({
  1: "updated the guild",
  10: "created a channel",
  11: "updated a channel",
  12: "deleted a channel",
  13: "added an overwrite",
  14: "changed an overwrite",
  15: "removed an overwrite",
  20: "kicked a member",
  22: "banned a member",
  23: "unbanned a member",
  24: "timed out a member",
  25: "changed a member's roles",
  30: "created a role",
  31: "updated a role",
  32: "deleted a role",
  40: "created an invite",
  42: "deleted an invite",
  72: "deleted a message",
  73: "bulk deleted messages",
  74: "pinned a message",
  75: "unpinned a message",
});

/**
 * @param {App} app
 * @param {string} guildId
 */
export function openSettings(app, guildId) {
  const body = h("div", { class: "settings-body" });
  const dialog = h(
    "dialog",
    { class: "settings", "aria-label": "Guild settings" },
    h("header", { class: "pane-header" }, h("h2", {}, "Guild settings"), h("button", { class: "icon", "aria-label": "Close settings", onclick: () => dialog.close() }, "✕")),
    body,
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  const perms = app.guildPermissions(guildId);
  const sections = [
    perms & P.MANAGE_GUILD ? overview(app, guildId) : null,
    perms & P.MANAGE_ROLES ? roles(app, guildId) : null,
    app.state.viewing && app.channelPermissions(app.state.viewing) & P.MANAGE_ROLES ? overwrites(app, guildId, app.state.viewing) : null,
    perms & P.MANAGE_GUILD ? invites(app, guildId) : null,
    perms & P.VIEW_AUDIT_LOG ? auditLog(app, guildId) : null,
    app.state.guilds.get(guildId)?.owner_id !== app.state.me.id ? leave(app, guildId, dialog) : null,
  ];
  fill(body, sections);
}

/**
 * @param {App} app
 * @param {() => Promise<unknown>} run
 */
function attempt(app, run) {
  return run().catch((e) => app.failed(e));
}

/** @param {App} app @param {string} guildId */
function overview(app, guildId) {
  const guild = app.state.guilds.get(guildId);
  const name = h("input", { value: guild?.name ?? "", "aria-label": "Guild name", maxlength: 100 });
  return h(
    "section",
    {},
    h("h3", {}, "Overview"),
    h("label", {}, "Name ", name),
    h("button", { onclick: () => attempt(app, () => app.api.patch(`/guilds/${guildId}`, { name: name.value.trim() })) }, "Rename"),
  );
}

/** @param {App} app @param {string} guildId */
function roles(app, guildId) {
  const section = h("section", {});
  const draw = () => {
    const guild = app.state.guilds.get(guildId);
    const list = [...(guild?.roles ?? [])].sort((a, b) => b.position - a.position);
    fill(
      section,
      h("h3", {}, "Roles"),
      list.map((role) => {
        const bits = BigInt(role.permissions);
        const everyone = role.id === guildId;
        return h(
          "details",
          { class: "role" },
          h("summary", {}, everyone ? "@everyone" : role.name),
          permissionBoxes(bits, (next) =>
            attempt(app, () => app.api.patch(`/guilds/${guildId}/roles/${role.id}`, { permissions: String(next) })),
          ),
          everyone ? null : h("button", { class: "danger", onclick: () => attempt(app, () => app.api.delete(`/guilds/${guildId}/roles/${role.id}`)) }, "Delete role"),
        );
      }),
      h("button", { onclick: () => attempt(app, () => app.api.post(`/guilds/${guildId}/roles`, { name: "new role" })) }, "+ Role"),
    );
  };
  draw();
  whileShown(app, section, draw);
  return section;
}

/**
 * Redraws a section on guild changes until the dialog holding it is gone.
 * @param {App} app
 * @param {HTMLElement} section
 * @param {() => void} draw
 */
function whileShown(app, section, draw) {
  const off = app.state.on("guilds", () => (section.isConnected ? draw() : off()));
}

/**
 * Checkboxes for the editable bits; `change` gets the new bit set.
 * @param {bigint} bits
 * @param {(next: bigint) => void} change
 */
function permissionBoxes(bits, change) {
  return h(
    "fieldset",
    { class: "bits" },
    EDITABLE.map(([label, bit]) => {
      const box = h("input", { type: "checkbox", checked: (bits & bit) !== 0n });
      box.addEventListener("change", () => change(box.checked ? bits | bit : bits & ~bit));
      return h("label", {}, box, ` ${label}`);
    }),
  );
}

/** The current channel's overwrites, one row per role: allow, inherit or deny. @param {App} app @param {string} guildId @param {string} channelId */
function overwrites(app, guildId, channelId) {
  const section = h("section", {});
  const channel = app.state.channels.get(channelId);
  const guild = app.state.guilds.get(guildId);
  const roleSelect = h("select", { "aria-label": "Role" }, (guild?.roles ?? []).map((r) => h("option", { value: r.id }, r.id === guildId ? "@everyone" : r.name)));
  const grid = h("div", { class: "overwrite" });
  const draw = () => {
    const target = roleSelect.value;
    const current = channel?.permission_overwrites?.find((o) => o.id === target && o.type === 0);
    const allow = BigInt(current?.allow ?? "0");
    const deny = BigInt(current?.deny ?? "0");
    fill(
      grid,
      EDITABLE.filter(([, bit]) => bit !== P.ADMINISTRATOR).map(([label, bit]) => {
        const value = allow & bit ? "allow" : deny & bit ? "deny" : "inherit";
        const select = h("select", { "aria-label": `${label} for the role` }, ["inherit", "allow", "deny"].map((v) => h("option", { value: v, selected: v === value }, v)));
        select.addEventListener("change", () => {
          const nextAllow = select.value === "allow" ? allow | bit : allow & ~bit;
          const nextDeny = select.value === "deny" ? deny | bit : deny & ~bit;
          attempt(app, () => app.api.put(`/channels/${channelId}/permissions/${target}`, { type: 0, allow: String(nextAllow), deny: String(nextDeny) }));
        });
        return h("label", {}, `${label} `, select);
      }),
    );
  };
  roleSelect.addEventListener("change", draw);
  whileShown(app, section, draw);
  draw();
  fill(section, h("h3", {}, `Permissions in ${channel ? app.state.channelName(channel) : "the channel"}`), roleSelect, grid);
  return section;
}

/** @param {App} app @param {string} guildId */
function invites(app, guildId) {
  const list = h("ul", {});
  const load = async () => {
    /** @type {{code: string, uses: number, max_uses: number, channel?: {name: string}, inviter?: {username: string}}[]} */
    const all = await app.api.get(`/guilds/${guildId}/invites`).catch(() => []);
    fill(
      list,
      all.length === 0 ? h("li", {}, "No live invites.") : null,
      all.map((i) =>
        h(
          "li",
          {},
          `${i.code} — #${i.channel?.name ?? "?"} by ${i.inviter?.username ?? "?"}, used ${i.uses}${i.max_uses ? `/${i.max_uses}` : ""} `,
          h("button", { class: "danger", onclick: () => attempt(app, async () => { await app.api.delete(`/invites/${i.code}`); await load(); }) }, "Revoke"),
        ),
      ),
    );
  };
  load();
  return h("section", {}, h("h3", {}, "Invites"), list);
}

/** @param {App} app @param {string} guildId */
function auditLog(app, guildId) {
  const list = h("ol", { class: "audit" });
  app.api
    .get(`/guilds/${guildId}/audit-logs?limit=50`)
    .then((/** @type {{audit_log_entries: {id: string, user_id: string, action_type: number, target_id: string | null, reason?: string | null}[]}} */ log) =>
      fill(
        list,
        log.audit_log_entries.map((e) =>
          h(
            "li",
            {},
            h("time", {}, idTime(e.id).toLocaleString()),
            ` ${app.state.username(e.user_id)} ${ACTIONS[e.action_type] ?? `did action ${e.action_type}`}`,
            e.reason ? ` (${e.reason})` : "",
          ),
        ),
      ),
    )
    .catch((e) => app.failed(e));
  return h("section", {}, h("h3", {}, "Audit log"), list);
}

/** @param {App} app @param {string} guildId @param {HTMLDialogElement} dialog */
function leave(app, guildId, dialog) {
  return h(
    "section",
    {},
    h(
      "button",
      {
        class: "danger",
        onclick: () =>
          attempt(app, async () => {
            await app.api.delete(`/users/@me/guilds/${guildId}`);
            dialog.close();
          }),
      },
      "Leave guild",
    ),
  );
}
