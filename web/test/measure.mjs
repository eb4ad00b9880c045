// The web client's figures (issue 18), measured, never asserted: page weight
// on first load, time to interactive on localhost, and the JS heap and DOM
// with 10,000 messages loaded in one channel.
//
//   node test/measure.mjs --bin target/release/rookery [--messages 10000] [--runs 5]
//
// Prints one JSON report. Uses a fresh server with the write limits lifted
// (to seed the history quickly) on a temporary data dir.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Server, freePort, launch, rest } from "./harness.mjs";

const { values: args } = parseArgs({
  options: { bin: { type: "string" }, messages: { type: "string", default: "10000" }, runs: { type: "string", default: "5" } },
});
const dataDir = mkdtempSync(join(tmpdir(), "rookery-measure-"));
const server = new Server(args.bin, dataDir, await freePort(), ["--channel-messages-per-5s", "0", "--rest-requests-per-second", "0"]);
await server.start();
const browser = await launch();
const report = {};
try {
  report.first_load = await firstLoad();
  const { token, channel } = await seed(Number(args.messages));
  report.interactive = await interactive(token, Number(args.runs));
  report.big_channel = await bigChannel(token, channel, Number(args.messages));
  console.log(JSON.stringify(report, null, 2));
} finally {
  await browser.close();
  await server.stop();
}

/** Bytes over the wire and decoded, for a first visit (nothing cached). */
async function firstLoad() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  await page.getByLabel("Username").waitFor();
  const sizes = await page.evaluate(() => {
    const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
    return entries.map((e) => ({ name: e.name, transfer: e.transferSize, decoded: e.decodedBodySize }));
  });
  await context.close();
  const sum = (key) => sizes.reduce((n, s) => n + s[key], 0);
  return { requests: sizes.length, transferred_kb: +(sum("transfer") / 1024).toFixed(1), decoded_kb: +(sum("decoded") / 1024).toFixed(1) };
}

/** A user, a guild and `count` messages in its channel. */
async function seed(count) {
  const answer = await fetch(`${server.url}/api/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "measurer", password: "measurer password" }),
  }).then((r) => r.json());
  const guild = await rest(server.url, answer.token, "POST", "/guilds", { name: "Big" });
  const channel = guild.channels[0].id;
  const started = Date.now();
  for (let i = 0; i < count; i += 8) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 8); j++) {
      batch.push(rest(server.url, answer.token, "POST", `/channels/${channel}/messages`, { content: `message ${j} ${"lorem ipsum ".repeat(j % 7)}` }));
    }
    await Promise.all(batch);
  }
  console.error(`seeded ${count} messages in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { token: answer.token, channel };
}

/** Milliseconds from navigation to the login form, and to a live channel with a kept token. */
async function interactive(token, runs) {
  const login = [];
  const chat = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.url);
    login.push(await page.waitForFunction(() => document.activeElement?.getAttribute("name") === "username" && performance.now()).then((h) => h.jsonValue()));
    await page.evaluate((t) => localStorage.setItem("rookery.token", t), token);
    await page.reload();
    const at = await page.waitForFunction(() => document.querySelector('.link[data-state="live"]') && document.querySelectorAll(".message").length > 0 && performance.now());
    chat.push(await at.jsonValue());
    await context.close();
  }
  return { login_ms: stats(login), live_channel_ms: stats(chat) };
}

/** Heap and DOM with the whole channel loaded by scrolling back. */
async function bigChannel(token, channel, count) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  await page.evaluate((t) => localStorage.setItem("rookery.token", t), token);
  await page.reload();
  await page.locator(".message").first().waitFor();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  const heap = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    const { metrics } = await cdp.send("Performance.getMetrics");
    return metrics.find((m) => m.name === "JSHeapUsedSize").value;
  };
  const before = await heap();
  const started = Date.now();
  await page.evaluate(
    async ({ id, most }) => {
      const log = window.rookery.state.log(id);
      // Page after page, as scrolling back would (bounded: a failing page
      // must not spin).
      for (let i = 0; i < most && !log.reachedStart; i++) await window.rookery.loadOlder(id);
    },
    { id: channel, most: Math.ceil(count / 50) + 5 },
  );
  const loadedIn = Date.now() - started;
  const held = await page.evaluate((id) => window.rookery.state.log(id).messages.length, channel);
  const scroll = await page.evaluate(async () => {
    const scroller = document.querySelector(".scroller");
    const times = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      scroller.scrollTop = i % 2 ? scroller.scrollHeight : 0;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      times.push(performance.now() - t);
    }
    return times;
  });
  const after = await heap();
  const dom = await page.evaluate(() => ({ nodes: document.getElementsByTagName("*").length, messages: document.querySelectorAll(".message").length }));
  await context.close();
  return {
    messages_held: held,
    expected: count,
    load_all_pages_ms: loadedIn,
    heap_mb_before: +(before / 2 ** 20).toFixed(1),
    heap_mb_after: +(after / 2 ** 20).toFixed(1),
    heap_bytes_per_message: Math.round((after - before) / (held - 50)),
    dom,
    scroll_frame_ms: stats(scroll),
  };
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => +sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  return { runs: values.length, min: at(0), median: at(0.5), max: at(1) };
}
