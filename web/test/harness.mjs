// Shared by the browser test and the measurements: a real `rookery serve`
// on a fixed loopback port (so a restart keeps the browser's origin), the
// system's Chromium driven by playwright-core, and a small REST helper.

import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { chromium } from "playwright-core";

/** A free loopback port, chosen by the kernel. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `rookery serve` on `port` over `dataDir`; `start()` again after `kill()`. */
export class Server {
  constructor(bin, dataDir, port, extra = []) {
    Object.assign(this, { bin, dataDir, port, extra, child: null, log: "" });
    this.url = `http://127.0.0.1:${port}`;
  }

  async start() {
    const args = ["serve", "--listen", `127.0.0.1:${this.port}`, "--ops-listen", "127.0.0.1:0", "--data-dir", this.dataDir, ...this.extra];
    this.child = spawn(this.bin, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ROOKERY_LOG: "info" } });
    this.child.stderr.on("data", (chunk) => (this.log = (this.log + chunk).slice(-20000)));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`rookery exited (${this.child.exitCode}):\n${this.log}`);
      const ready = await fetch(`${this.url}/readyz`).then((r) => r.ok, () => false);
      if (ready) return;
      await sleep(100);
    }
    throw new Error(`rookery did not become ready:\n${this.log}`);
  }

  /** SIGKILL: no shutdown, no flush; what was acknowledged must survive. */
  async kill() {
    const child = this.child;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  /** SIGTERM: the graceful path (RECONNECT to every session, then exit). */
  async terminate() {
    const child = this.child;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  async stop() {
    if (this.child && this.child.exitCode === null) await this.kill();
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Debian's Chromium (browser downloads are not possible here). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** A REST call as `token`, waiting out 429s. */
export async function rest(base, token, method, path, body) {
  for (;;) {
    const response = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 429) {
      const answer = await response.json();
      await sleep(Math.ceil(answer.retry_after * 1000));
      continue;
    }
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? null : response.json();
  }
}
