// A discord.js bot, the library unmodified, run against a Rookery server.
//
// Configured only through what any discord.js user can set: the REST base
// (`rest.api`); the library finds the gateway itself with GET /gateway/bot.
// The human side of the conversation is plain HTTP with the human's token.
//
// Environment: ROOKERY_HTTP (http://host:port), BOT_TOKEN, HUMAN_TOKEN,
// HUMAN_ID, CHANNEL_ID, WEBHOOK_URL (optional: a webhook of the channel to
// execute). Prints one JSON report line; exits 0 only if every check held.

import { Client, Events, GatewayIntentBits } from 'discord.js';

const HTTP = process.env.ROOKERY_HTTP.replace(/\/$/, '');
const API = `${HTTP}/api/v10`;
const DEADLINE_MS = Number(process.env.DEADLINE_SECS ?? 60) * 1000;

const report = { connects: 0, resumes: 0, reconnects: 0, errors: [], complaints: [] };
const seen = new Map();
function saw(name) {
  if (!seen.has(name)) seen.set(name, Promise.withResolvers?.() ?? deferred());
  seen.get(name).resolve();
}
function waitFor(name, ms = 10_000) {
  if (!seen.has(name)) seen.set(name, Promise.withResolvers?.() ?? deferred());
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${name}`)), ms));
  return Promise.race([seen.get(name).promise, timeout]);
}
function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

async function post(url, body, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (response.status >= 300) report.errors.push(`post ${url}: ${response.status} ${await response.text()}`);
}

const client = new Client({
  intents: [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMembers,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.GuildMessageReactions,
    GatewayIntentBits.MessageContent,
  ],
  rest: { api: `${HTTP}/api` },
});

if (process.env.LOG === 'DEBUG') client.on(Events.Debug, (m) => console.error(m));
client.on(Events.Warn, (w) => report.complaints.push(`warn: ${w}`));
client.on(Events.Error, (e) => report.complaints.push(`error: ${e.stack ?? e}`));
client.on(Events.ShardReconnecting, () => { report.reconnects += 1; });
client.on(Events.ShardResume, () => { report.resumes += 1; });
process.on('unhandledRejection', (e) => report.complaints.push(`unhandled: ${e?.stack ?? e}`));

const started = Date.now();
client.once(Events.ClientReady, (ready) => {
  report.connects += 1;
  report.ready_ms = Date.now() - started;
  report.ready_guilds = ready.guilds.cache.map((g) => g.name).sort();
  report.member_counts = ready.guilds.cache.map((g) => g.memberCount).sort();
  report.ready_channels = ready.channels.cache.map((c) => c.name).filter(Boolean).sort();
  report.application_id = ready.application.id;
  report.user = { name: ready.user.username, bot: ready.user.bot };
  post(`${API}/channels/${process.env.CHANNEL_ID}/messages`, { content: 'hello bot' },
    { authorization: `Bearer ${process.env.HUMAN_TOKEN}` });
});

let done;
const finished = new Promise((resolve) => { done = resolve; });

client.on(Events.MessageCreate, (message) => {
  if (message.author.id === client.user.id) return saw('own_message');
  if (message.webhookId) {
    report.webhook_message = message.content;
    return saw('webhook_message');
  }
  if (message.author.id === process.env.HUMAN_ID && message.content === 'hello bot') {
    converse(message).catch((e) => report.errors.push(`${e.stack ?? e}`)).finally(done);
  }
});
client.on(Events.MessageReactionAdd, (_reaction, user) => {
  if (user.id === client.user.id) saw('reaction');
});
client.on(Events.MessageUpdate, (_old, updated) => {
  if (updated.author?.id === client.user.id) saw('edit');
});
client.on(Events.MessageDelete, () => saw('delete'));

async function converse(heard) {
  report.heard = heard.content;
  const reply = await heard.reply('hello human');
  await waitFor('own_message');
  const history = await heard.channel.messages.fetch({ limit: 10 });
  report.history = history.map((m) => m.content);
  await heard.react('\u{1F44D}');
  await waitFor('reaction');
  const edited = await reply.edit('hello human (edited)');
  report.edited = edited.content;
  await waitFor('edit');
  await reply.delete();
  await waitFor('delete');
  const members = await heard.guild.members.fetch();
  report.members = members.map((m) => m.user.username).sort();
  const listed = await heard.guild.members.list({ limit: 100 });
  report.listed_members = listed.map((m) => m.user.username).sort();
  if (process.env.WEBHOOK_URL) {
    await post(process.env.WEBHOOK_URL, { content: 'from a hook' });
    await waitFor('webhook_message');
  }
}

const deadline = new Promise((resolve) => setTimeout(() => resolve('timed out'), DEADLINE_MS));
await client.login(process.env.BOT_TOKEN);
if ((await Promise.race([finished, deadline])) === 'timed out') report.errors.push('timed out');
const final = JSON.parse(JSON.stringify(report));
await client.destroy();
Object.assign(report, final);
console.log(JSON.stringify(report));
process.exit(report.errors.length === 0 && report.complaints.length === 0 ? 0 : 1);
