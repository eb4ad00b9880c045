"""A discord.py bot, the library unmodified, run against a Rookery server.

Configured only through what any discord.py user can set: the REST base
(`discord.http.Route.BASE`) and the gateway URL (`DiscordWebSocket.DEFAULT_GATEWAY`,
taken from `GET /gateway/bot` as Discord's docs say). The human side of the
conversation is plain HTTP with the human's token.

Environment: ROOKERY_HTTP (http://host:port), BOT_TOKEN, HUMAN_TOKEN,
HUMAN_ID, CHANNEL_ID, WEBHOOK_URL (optional: a webhook of the channel to
execute). Prints one JSON report line; exits 0 only if every check held.
"""

import asyncio
import json
import logging
import os
import sys

import aiohttp
import discord
import yarl

HTTP = os.environ["ROOKERY_HTTP"].rstrip("/")
API = f"{HTTP}/api/v10"
HUMAN_ID = int(os.environ["HUMAN_ID"])
CHANNEL_ID = int(os.environ["CHANNEL_ID"])
DEADLINE_SECS = float(os.environ.get("DEADLINE_SECS", "60"))


class Complaints(logging.Handler):
    """Every warning or error the library logs: a run passes with none."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.levelname} {record.name}: {record.getMessage()}")


class Scenario(discord.Client):
    def __init__(self, report, **options):
        super().__init__(**options)
        self.report = report
        self.seen = {}  # event name -> asyncio.Event
        self.done = asyncio.Event()

    def saw(self, name):
        self.seen.setdefault(name, asyncio.Event()).set()

    async def wait_for_seen(self, name, timeout=10):
        event = self.seen.setdefault(name, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)

    async def on_connect(self):
        self.report["connects"] += 1

    async def on_resumed(self):
        self.report["resumes"] += 1

    async def on_ready(self):
        self.report["ready_guilds"] = sorted(g.name for g in self.guilds)
        self.report["member_counts"] = sorted(g.member_count for g in self.guilds)
        self.report["ready_channels"] = sorted(
            c.name for g in self.guilds for c in g.text_channels
        )
        self.report["application_id"] = str(self.application_id)
        self.report["user"] = {"name": self.user.name, "bot": self.user.bot}
        asyncio.create_task(self.human_says("hello bot"))

    async def human_says(self, content, url=None, body=None):
        url = url or f"{API}/channels/{CHANNEL_ID}/messages"
        headers = {} if body else {"Authorization": f"Bearer {os.environ['HUMAN_TOKEN']}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=body or {"content": content}, headers=headers) as r:
                if r.status >= 300:
                    self.report["errors"].append(f"human post {r.status}: {await r.text()}")

    async def on_message(self, message):
        if message.author.id == self.user.id:
            self.saw("own_message")
            return
        if message.webhook_id is not None:
            self.report["webhook_message"] = message.content
            self.saw("webhook_message")
            return
        if message.author.id == HUMAN_ID and message.content == "hello bot":
            asyncio.create_task(self.converse(message))

    async def on_raw_reaction_add(self, payload):
        if payload.user_id == self.user.id:
            self.saw("reaction")

    async def on_raw_message_edit(self, payload):
        if payload.data.get("author", {}).get("id") == str(self.user.id):
            self.saw("edit")

    async def on_raw_message_delete(self, payload):
        self.saw("delete")

    async def converse(self, heard):
        try:
            await self.steps(heard)
        except Exception as e:  # the report says which step failed
            self.report["errors"].append(f"{type(e).__name__}: {e}")
        finally:
            self.done.set()

    async def steps(self, heard):
        self.report["heard"] = heard.content
        channel = heard.channel
        reply = await channel.send("hello human", reference=heard)
        await self.wait_for_seen("own_message")
        history = [m async for m in channel.history(limit=10)]
        self.report["history"] = [m.content for m in history]
        await heard.add_reaction("\N{THUMBS UP SIGN}")
        await self.wait_for_seen("reaction")
        edited = await reply.edit(content="hello human (edited)")
        self.report["edited"] = edited.content
        await self.wait_for_seen("edit")
        await reply.delete()
        await self.wait_for_seen("delete")
        members = [m async for m in channel.guild.fetch_members(limit=None)]
        self.report["members"] = sorted(m.name for m in members)
        self.report["cached_members"] = sorted(m.name for m in channel.guild.members)
        if os.environ.get("WEBHOOK_URL"):
            await self.human_says(None, os.environ["WEBHOOK_URL"], {"content": "from a hook"})
            await self.wait_for_seen("webhook_message")


async def main():
    logging.basicConfig(level=getattr(logging, os.environ.get("LOG", "INFO")), stream=sys.stderr)
    discord.http.Route.BASE = API
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {os.environ['BOT_TOKEN']}"}
        async with http.get(f"{API}/gateway/bot", headers=headers) as r:
            gateway = (await r.json())["url"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)

    report = {"connects": 0, "resumes": 0, "errors": []}
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    client = Scenario(report, intents=intents)
    # From here on: the warnings of construction are about voice support,
    # which needs optional packages and does not exist on Rookery.
    complaints = Complaints()
    logging.getLogger("discord").addHandler(complaints)
    async with client:
        runner = asyncio.create_task(client.start(os.environ["BOT_TOKEN"]))
        try:
            await asyncio.wait_for(client.done.wait(), DEADLINE_SECS)
        except asyncio.TimeoutError:
            report["errors"].append("timed out")
        await client.close()
        await asyncio.gather(runner, return_exceptions=True)
    report["complaints"] = complaints.records
    print(json.dumps(report))
    return 0 if not report["errors"] and not complaints.records else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
