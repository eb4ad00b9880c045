// The web client in a real browser against a real server (issue 18): two
// people, alice and bob, in two browser contexts of Debian's Chromium.
//
//   node test/browser.mjs --bin target/debug/rookery --data-dir DIR [--screenshots DIR]
//
// Each step says what it checks; the first failure exits non-zero with the
// server's log. Run by services/rookery/tests/web_client.rs (cargo test).

import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Server, freePort, launch, rest, sleep } from "./harness.mjs";

const { values: args } = parseArgs({
  options: { bin: { type: "string" }, "data-dir": { type: "string" }, screenshots: { type: "string" } },
});
if (!args.bin) throw new Error("--bin is required (the rookery binary)");
const dataDir = args["data-dir"] ?? mkdtempSync(join(tmpdir(), "rookery-web-"));
const shots = args.screenshots;
if (shots) mkdirSync(shots, { recursive: true });

const STEP_MS = 30_000;
// The channel write limit (5 messages per 5 s) is lifted so the history
// pages can be seeded quickly; the client's retry of 20028 is checked below
// on a second server with the limit on.
const server = new Server(args.bin, dataDir, await freePort(), ["--channel-messages-per-5s", "0"]);
await server.start();
const browser = await launch();
/** Console errors and page errors, by person; network errors while the server is down are expected. */
const problems = [];
let serverDown = false;
const people = [];

async function person(name, viewport) {
  const context = await browser.newContext({ viewport: viewport ?? { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    const network = /WebSocket connection|ERR_CONNECTION_REFUSED|Failed to load resource/.test(text);
    if (!(serverDown && network) && !/status of 4\d\d/.test(text)) problems.push(`${name}: console: ${text}`);
  });
  page.on("pageerror", (error) => problems.push(`${name}: page error: ${error.message}`));
  const p = { name, context, page };
  people.push(p);
  return p;
}

function step(text) {
  console.log(`step: ${text}`);
}

async function shot(page, file) {
  if (shots) await page.screenshot({ path: join(shots, file) });
}

/** Polls `check` until it answers true. */
async function eventually(what, check, limit = STEP_MS) {
  const deadline = Date.now() + limit;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(100);
  }
}

const messages = (page, text) => page.locator(".message .content").filter({ hasText: new RegExp(`^${text}$`) });

async function register(p, url) {
  await p.page.goto(url);
  await p.page.getByLabel("Username").fill(p.name);
  await p.page.getByLabel("Password").fill(`${p.name} password`);
  await p.page.getByRole("button", { name: "Register" }).click();
  await live(p);
}

async function live(p) {
  await p.page.locator('.link[data-state="live"]').waitFor();
}

async function send(p, text) {
  const input = p.page.locator("textarea.input");
  await input.fill(text);
  await input.press("Enter");
}

/** The message's row (its `li`) for exact content. */
const row = (page, text) =>
  page.locator(".message").filter({ has: page.locator(".content").filter({ hasText: new RegExp(`^${text}$`) }) });

/** The scenario, step by step: each gets the two people and what earlier steps left in `w`. */
const STEPS = [
  [
    "the page loads, with its security headers, and alice registers",
    async (w) => {
      const { alice, bob } = w;
      const first = await alice.page.goto(server.url);
      const csp = first.headers()["content-security-policy"];
      if (!csp?.includes("script-src 'self'")) throw new Error(`no Content-Security-Policy: ${csp}`);
      await alice.page.getByLabel("Username").waitFor();
      await shot(alice.page, "login.png");
      await register(alice, server.url);
    },
  ],
  [
    "alice creates a guild and an invite link",
    async (w) => {
      const { alice, bob } = w;
      await alice.page.getByRole("button", { name: "Create a guild" }).click();
      await alice.page.getByLabel("Guild name").fill("HQ");
      await alice.page.getByRole("button", { name: "OK" }).click();
      await alice.page.locator('.channel.current:has-text("#general")').waitFor();
      await alice.page.getByRole("button", { name: "Invite people" }).click();
      w.link = await alice.page.getByLabel("Invite link").inputValue();
      if (!w.link.startsWith(`${server.url}/invite/`)) throw new Error(`unexpected invite link ${w.link}`);
    },
  ],
  [
    "bob opens the invite link, registers and is in the guild",
    async (w) => {
      const { alice, bob } = w;
      await register(bob, w.link);
      await bob.page.locator('.channel.current:has-text("#general")').waitFor();
      await alice.page.locator('.member:has-text("bob") .dot.online').waitFor();
      await bob.page.locator('.member:has-text("alice") .dot.online').waitFor();
    },
  ],
  [
    "each sees the other's messages live",
    async (w) => {
      const { alice, bob } = w;
      await send(alice, "hello bob");
      await messages(bob.page, "hello bob").waitFor();
      await send(bob, "hi alice");
      await messages(alice.page, "hi alice").waitFor();
    },
  ],
  [
    "reply, reaction, edit and delete are seen on the other side",
    async (w) => {
      const { alice, bob } = w;
      await row(bob.page, "hello bob").hover();
      await row(bob.page, "hello bob").getByRole("button", { name: "Reply" }).click();
      await send(bob, "a reply");
      await row(alice.page, "a reply").locator(".reply-to", { hasText: "alice: hello bob" }).waitFor();
      await row(bob.page, "hello bob").hover();
      await row(bob.page, "hello bob").locator("summary").click();
      await row(bob.page, "hello bob").getByRole("button", { name: "React 👍" }).click();
      await row(alice.page, "hello bob").locator(".reaction:not(.me)", { hasText: "👍 1" }).waitFor();
      await row(bob.page, "hello bob").locator(".reaction.me", { hasText: "👍 1" }).waitFor();
      await row(alice.page, "hello bob").hover();
      await row(alice.page, "hello bob").getByRole("button", { name: "Edit" }).click();
      await alice.page.getByLabel("Edit message").fill("hello bob, edited");
      await alice.page.getByLabel("Edit message").press("Enter");
      await row(bob.page, "hello bob, edited").locator(".edited").waitFor();
      await row(alice.page, "hi alice").hover();
      if (await row(alice.page, "hi alice").getByRole("button", { name: "Edit" }).count()) throw new Error("alice may edit bob's message");
      await send(alice, "to be deleted");
      await messages(bob.page, "to be deleted").waitFor();
      await row(alice.page, "to be deleted").hover();
      await row(alice.page, "to be deleted").getByRole("button", { name: "Delete" }).click();
      await row(alice.page, "to be deleted").getByRole("button", { name: "Confirm delete" }).click();
      await eventually("the deletion on bob's side", async () => (await messages(bob.page, "to be deleted").count()) === 0);
    },
  ],
  [
    "typing is shown to the other",
    async (w) => {
      const { alice, bob } = w;
      await alice.page.locator("textarea.input").pressSequentially("typing away", { delay: 10 });
      await bob.page.locator(".typing", { hasText: "alice is typing…" }).waitFor();
      await alice.page.locator("textarea.input").fill("");
    },
  ],
  [
    "an unread channel is marked, a mention counted, and both cleared on view",
    async (w) => {
      const { alice, bob } = w;
      await alice.page.getByRole("button", { name: "+ New channel" }).click();
      await alice.page.getByLabel("Channel name").fill("random");
      await alice.page.getByRole("button", { name: "OK" }).click();
      await alice.page.locator('.channel.current:has-text("#random")').waitFor();
      await alice.page.locator("textarea.input").pressSequentially("ping @bo");
      await alice.page.getByRole("option", { name: "@bob" }).waitFor();
      await alice.page.locator("textarea.input").press("Enter");
      await alice.page.locator("textarea.input").pressSequentially("please look");
      await alice.page.locator("textarea.input").press("Enter");
      await messages(alice.page, "ping @bob please look").waitFor();
      await send(alice, "and one more without a mention");
      const random = bob.page.locator(".channel", { hasText: "#random" });
      await random.locator(".badge", { hasText: "1" }).waitFor();
      if (!(await random.getAttribute("class")).includes("unread")) throw new Error("#random is not marked unread");
      await shot(bob.page, "unread.png");
      await random.click();
      await messages(bob.page, "and one more without a mention").waitFor();
      await eventually("the badge to clear", async () => (await random.locator(".badge").count()) === 0);
      await eventually("the unread mark to clear", async () => !(await random.getAttribute("class")).includes("unread"));
      await bob.page.reload();
      await live(bob);
      await bob.page.locator(".channel", { hasText: "#random" }).waitFor();
      if ((await bob.page.locator(".channel.unread").count()) !== 0) throw new Error("the ack did not reach the server: unread after reload");
    },
  ],
  [
    "history scrolls back across several pages",
    async (w) => {
      const { alice, bob } = w;
      w.token = await alice.page.evaluate(() => localStorage.getItem("rookery.token"));
      w.general = await alice.page.evaluate(() => [...window.rookery.state.channels.values()].find((c) => c.name === "general").id);
      for (let i = 0; i < 160; i++) await rest(server.url, w.token, "POST", `/channels/${w.general}/messages`, { content: `history ${i}` });
      await bob.page.reload();
      await live(bob);
      await bob.page.locator(".channel", { hasText: "#general" }).click();
      await messages(bob.page, "history 159").waitFor();
      let pages = 0;
      bob.page.on("request", (request) => request.url().includes("before=") && pages++);
      await eventually("scrolling back to the first message", async () => {
        await bob.page.locator(".scroller").evaluate((el) => (el.scrollTop = 0));
        return (await messages(bob.page, "hello bob, edited").count()) === 1;
      }, 60_000);
      if (pages < 3) throw new Error(`scroll-back read ${pages} pages, expected at least 3`);
      await bob.page.locator(".beginning").waitFor();
      const shown = await bob.page.locator(".message").count();
      if (shown > 200) throw new Error(`${shown} messages in the DOM: the list is not windowed`);
      await bob.page.locator(".scroller").evaluate((el) => (el.scrollTop = el.scrollHeight));
      await eventually("scrolling forward to the newest", async () => {
        await bob.page.locator(".scroller").evaluate((el) => (el.scrollTop = el.scrollHeight));
        return (await messages(bob.page, "history 159").count()) === 1;
      });
      await shot(alice.page, "chat.png");
    },
  ],
  [
    "settings: alice sees the audit log; bob, a member, has no moderation there",
    async (w) => {
      const { alice, bob } = w;
      await alice.page.getByRole("button", { name: "Guild settings" }).click();
      await alice.page.locator(".audit li", { hasText: "alice created an invite" }).waitFor();
      await shot(alice.page, "settings.png");
      await alice.page.getByRole("button", { name: "+ Role" }).click();
      await alice.page.locator("details.role summary", { hasText: "new role" }).waitFor();
      await alice.page.getByRole("button", { name: "Close settings" }).click();
      await bob.page.getByRole("button", { name: "Guild settings" }).click();
      await bob.page.getByRole("button", { name: "Leave guild" }).waitFor();
      if (await bob.page.locator(".audit").count()) throw new Error("bob sees the audit log without VIEW_AUDIT_LOG");
      await bob.page.keyboard.press("Escape");
    },
  ],
  [
    "a DM: bob opens one with alice from the member list",
    async (w) => {
      const { alice, bob } = w;
      await bob.page.locator('.member:has-text("alice")').hover();
      await bob.page.locator('.member:has-text("alice")').getByRole("button", { name: "Message" }).click();
      await bob.page.locator(".chat-header h2", { hasText: /^alice$/ }).waitFor();
      await send(bob, "psst");
      await messages(bob.page, "psst").waitFor();
      await eventually("alice's DM button to show unread", async () =>
        ((await alice.page.getByRole("button", { name: "Direct messages" }).getAttribute("class")) ?? "").includes("unread"));
      await alice.page.getByRole("button", { name: "Direct messages" }).click();
      await messages(alice.page, "psst").waitFor();
      await alice.page.getByRole("button", { name: "HQ" }).click();
      await bob.page.getByRole("button", { name: "HQ" }).click();
      await alice.page.locator('.channel.current:has-text("#general")').waitFor();
      await bob.page.locator('.channel.current:has-text("#general")').waitFor();
    },
  ],
  [
    "a pin is marked for both and listed in the pins",
    async (w) => {
      const { alice, bob } = w;
      await send(bob, "pin me");
      await row(alice.page, "pin me").hover();
      await row(alice.page, "pin me").getByRole("button", { name: "Pin" }).click();
      await row(bob.page, "pin me").getByLabel("pinned").waitFor();
      await bob.page.getByRole("button", { name: "Pinned messages" }).click();
      await bob.page.locator(".pins li", { hasText: "pin me" }).waitFor();
      await bob.page.getByRole("button", { name: "Pinned messages" }).click();
    },
  ],
  [
    "moderation: alice times bob out (his message box closes) and ends it",
    async (w) => {
      const { alice, bob } = w;
      const bobRow = alice.page.locator('.member:has-text("bob")');
      await bobRow.hover();
      await bobRow.getByRole("button", { name: "Time out 10 min" }).click();
      await eventually("bob's message box to close", () => bob.page.locator("textarea.input").isDisabled());
      await bobRow.hover();
      await bobRow.getByRole("button", { name: "End timeout" }).click();
      await eventually("bob's message box to open again", () => bob.page.locator("textarea.input").isEnabled());
    },
  ],
  [
    "settings: an overwrite denying @everyone SEND_MESSAGES in #general closes bob's message box, and lifting it opens it",
    async (w) => {
      const { alice, bob } = w;
      await alice.page.getByRole("button", { name: "Guild settings" }).click();
      const sendSetting = alice.page.getByLabel("Send messages for the role");
      await sendSetting.selectOption("deny");
      await eventually("bob's message box to close", () => bob.page.locator("textarea.input").isDisabled());
      await alice.page.getByLabel("Send messages for the role").selectOption("inherit");
      await eventually("bob's message box to open again", () => bob.page.locator("textarea.input").isEnabled());
      await alice.page.getByRole("button", { name: "Close settings" }).click();
    },
  ],
  [
    "a dropped connection RESUMEs its session and gets what it missed",
    async (w) => {
      const { alice, bob } = w;
      const sessionBefore = await bob.page.evaluate(() => window.rookery.gateway.sessionId);
      await bob.page.evaluate(() => window.rookery.gateway.drop());
      await send(alice, "during the drop");
      await messages(bob.page, "during the drop").waitFor();
      await live(bob);
      const sessionAfter = await bob.page.evaluate(() => window.rookery.gateway.sessionId);
      if (sessionAfter !== sessionBefore) throw new Error("the dropped connection identified anew instead of resuming");

    },
  ],
  [
    "kill -9 with both open: acknowledged messages are shown once after the restart, and a send while down is delivered once",
    async (w) => {
      const { alice, bob } = w;
      for (const n of [1, 2, 3]) await send(alice, `before the kill ${n}`);
      await eventually("alice's sends to be acknowledged", async () => (await alice.page.locator(".message.pending").count()) === 0);
      serverDown = true;
      await server.kill();
      await eventually("both to see the drop", async () =>
        (await alice.page.locator('.link[data-state="live"]').count()) === 0 && (await bob.page.locator('.link[data-state="live"]').count()) === 0);
      await send(alice, "sent while down");
      await row(alice.page, "sent while down").locator(".status", { hasText: "sending…" }).waitFor();
      await shot(alice.page, "reconnecting.png");
      await sleep(1500);
      await server.start();
      await live(alice);
      await live(bob);
      serverDown = false;
      for (const p of [alice, bob]) {
        await messages(p.page, "sent while down").waitFor();
        await sleep(1000);
        for (const text of ["before the kill 1", "before the kill 2", "before the kill 3", "sent while down"]) {
          const count = await messages(p.page, text).count();
          if (count !== 1) throw new Error(`${p.name} shows "${text}" ${count} times`);
        }
      }
      const stored = await rest(server.url, w.token, "GET", `/channels/${w.general}/messages?limit=10`);
      const downs = stored.filter((m) => m.content === "sent while down").length;
      if (downs !== 1) throw new Error(`the server holds "sent while down" ${downs} times`);
    },
  ],
  [
    "a graceful restart (SIGTERM: RECONNECT, op 7) is followed by both",
    async (w) => {
      const { alice, bob } = w;
      serverDown = true;
      await server.terminate();
      await server.start();
      await live(alice);
      await live(bob);
      serverDown = false;
      await send(alice, "after the graceful restart");
      await messages(bob.page, "after the graceful restart").waitFor();
      await sleep(500);
      if ((await messages(bob.page, "after the graceful restart").count()) !== 1) throw new Error("shown twice after the graceful restart");
    },
  ],
  [
    "a phone-sized screen shows one pane at a time",
    async (w) => {
      const { alice, bob } = w;
      const phone = await person("bob-phone", { width: 390, height: 780 });
      await phone.page.goto(server.url);
      await phone.page.evaluate((t) => localStorage.setItem("rookery.token", t), await bob.page.evaluate(() => localStorage.getItem("rookery.token")));
      await phone.page.reload();
      await live(phone).catch(() => {});
      await phone.page.locator(".chat-header").waitFor();
      if (await phone.page.locator(".members").isVisible()) throw new Error("the member pane shows beside the chat on a phone");
      await shot(phone.page, "phone.png");
      await phone.page.getByRole("button", { name: "Channels" }).click();
      await phone.page.locator(".channel", { hasText: "#general" }).waitFor();
      await phone.context.close();
    },
  ],
  [
    "a group DM: bob makes one with alice, who reads it",
    async (w) => {
      const { alice, bob } = w;
      await bob.page.getByRole("button", { name: "Direct messages" }).click();
      await bob.page.getByRole("button", { name: "+ New group" }).click();
      await bob.page.getByLabel("Usernames, separated by commas").fill("alice");
      await bob.page.getByRole("button", { name: "OK" }).click();
      await bob.page.locator(".chat-header h2", { hasText: /^alice$/ }).waitFor();
      await eventually("bob's DM list to hold the DM and the group", async () => (await bob.page.locator(".channel").count()) === 2);
      await bob.page.locator(".channel.current").waitFor();
      await send(bob, "group hello");
      await messages(bob.page, "group hello").waitFor();
      await alice.page.getByRole("button", { name: "Direct messages" }).click();
      await eventually("alice's DM list to hold the DM and the group", async () => (await alice.page.locator(".channel").count()) === 2);
      // The most recently active conversation opens first: the group.
      await messages(alice.page, "group hello").waitFor();
    },
  ],
  [
    "moderation: alice kicks bob, whose client drops the guild",
    async (w) => {
      const { alice, bob } = w;
      await alice.page.getByRole("button", { name: "HQ" }).click();
      const kicked = alice.page.locator('.member:has-text("bob")');
      await kicked.hover();
      await kicked.getByRole("button", { name: "Kick" }).click();
      await eventually("the guild to leave bob's list", async () => (await bob.page.getByRole("button", { name: "HQ" }).count()) === 0);
      await eventually("bob to leave alice's member list", async () => (await alice.page.locator('.member:has-text("bob")').count()) === 0);
      await alice.page.getByRole("button", { name: "Guild settings" }).click();
      await alice.page.locator(".audit li", { hasText: "alice kicked a member" }).waitFor();
      await alice.page.getByRole("button", { name: "Close settings" }).click();
    },
  ],
  [
    "with the channel write limit on (5 per 5 s), a burst of 7 sends is paced by the client and all land once",
    async (w) => {
      const { alice, bob } = w;
      const limited = new Server(args.bin, `${dataDir}-limited`, await freePort());
      await limited.start();
      try {
        const carol = await person("carol");
        await register(carol, limited.url);
        const carolToken = await carol.page.evaluate(() => localStorage.getItem("rookery.token"));
        await rest(limited.url, carolToken, "POST", "/guilds", { name: "Burst" });
        await carol.page.locator('.channel.current:has-text("#general")').waitFor();
        for (let i = 1; i <= 7; i++) await send(carol, `burst ${i}`);
        await eventually("every burst send to be confirmed", async () => (await carol.page.locator(".message.pending").count()) === 0);
        for (let i = 1; i <= 7; i++) {
          const count = await messages(carol.page, `burst ${i}`).count();
          if (count !== 1) throw new Error(`"burst ${i}" shown ${count} times`);
        }
        await carol.context.close();
      } finally {
        await limited.stop();
      }
    },
  ],
];

async function scenario() {
  const w = { alice: await person("alice"), bob: await person("bob") };
  for (const [title, run] of STEPS) {
    step(title);
    await run(w);
    // Console and page errors are charged to the step that caused them.
    if (problems.length) throw new Error(`errors in the browser:\n${problems.join("\n")}`);
  }
}

try {
  await scenario();
  console.log("web client: all browser checks passed");
} catch (error) {
  console.error(`web client: FAILED: ${error.stack ?? error}`);
  for (const p of people) {
    await p.page.screenshot({ path: join(shots ?? tmpdir(), `failed-${p.name}.png`) }).catch(() => {});
  }
  if (problems.length) console.error(`browser errors:\n${problems.join("\n")}`);
  console.error(`--- server log (tail) ---\n${server.log.slice(-4000)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  await server.stop();
}
