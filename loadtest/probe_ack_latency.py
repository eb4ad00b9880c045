"""Independent check of send→ack latency with Python `websockets`: one
connection, 1000 sends at most 100/s, each waiting for its SEND_ACK.
Usage: python3 probe_ack_latency.py [http://127.0.0.1:8080]"""
import asyncio, json, random, sys, time, urllib.request
import websockets
SERVER = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
BASE = SERVER + "/api/v1"
def post(path, body, token=None):
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode() if body is not None else None, method="POST", headers={"content-type": "application/json", **({"authorization": "Bearer " + token} if token else {})})
    return json.load(urllib.request.urlopen(req))
async def main():
    name = "py%d" % random.randint(0, 10**9)
    auth = post("/auth/register", {"username": name, "password": "password123"})
    guild = post("/guilds", {"name": "probe"}, auth["token"])
    ch = guild["channels"][0]["id"]
    async with websockets.connect(SERVER.replace("http", "ws", 1) + "/gateway?encoding=json") as ws:
        await ws.recv()
        await ws.send(json.dumps({"op": 2, "d": {"token": auth["token"]}}))
        while json.loads(await ws.recv()).get("t") != "READY": pass
        lat = []
        for i in range(1000):
            t = time.perf_counter()
            await ws.send(json.dumps({"op": 20, "d": {"channel_id": ch, "nonce": str(i), "content": "x"}}))
            while True:
                f = json.loads(await ws.recv())
                if f["op"] == 21: break
            lat.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.01)
        lat.sort()
        print("python send->ack ms: p50 %.2f p90 %.2f p99 %.2f max %.2f" % (lat[500], lat[900], lat[990], lat[-1]))
asyncio.run(main())
