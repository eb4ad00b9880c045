//! The gateway connection: HELLO, IDENTIFY or RESUME, heartbeats, and
//! reconnection by itself. A dropped connection RESUMEs its session (the
//! edge replays what was missed); a session the edge no longer has
//! (INVALID_SESSION, another edge, a restarted server) IDENTIFIES again with
//! the newest message id of each channel the client holds, and the edge
//! sends what came after (docs/protocol.md, "Recovering on another edge").
//! Retries back off exponentially with full jitter, so a restarted server
//! is not met by every client at once.

/** @typedef {"connecting" | "identifying" | "resuming" | "live" | "waiting" | "stopped"} LinkState */

const FIRST_RETRY_MS = 500;
const LONGEST_RETRY_MS = 30_000;
/** Closes after which reconnecting the same way fails again. */
const TERMINAL = new Set([4004, 4013, 4200]);

export class Gateway {
  /**
   * @param {object} options
   * @param {string} options.token
   * @param {(type: string, data: any) => void} options.onDispatch
   * @param {(op: number, data: any) => void} options.onReply SEND_ACK (21) and SEND_ERROR (22)
   * @param {(state: LinkState, detail: string) => void} options.onState
   * @param {() => Record<string, string>} options.lastMessageIds
   * @param {(code: number) => void} options.onTerminal
   */
  constructor(options) {
    this.options = options;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {string | null} */
    this.sessionId = null;
    this.seq = 0;
    this.attempt = 0;
    this.awaitingAck = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.heartbeatTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {LinkState} */
    this.state = "connecting";
    this.stopped = false;
  }

  connect() {
    clearTimeout(this.retryTimer);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/gateway?encoding=json`);
    this.socket = socket;
    this.setState("connecting", "");
    socket.onmessage = (event) => this.receive(JSON.parse(String(event.data)));
    socket.onclose = (event) => this.closed(socket, event.code);
  }

  /** Whether frames sent now reach an identified session. */
  get live() {
    return this.state === "live";
  }

  /**
   * @param {number} op
   * @param {unknown} data
   */
  send(op, data) {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ op, d: data }));
    }
  }

  /** Ends the connection for good (logging out). */
  stop() {
    this.stopped = true;
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.retryTimer);
    this.socket?.close(1000);
    this.setState("stopped", "");
  }

  /** Drops the connection as if the network had (tests and the UI's "reconnect"). */
  drop() {
    this.socket?.close(4000);
  }

  /** @param {{op: number, d: any, s: number | null, t: string | null}} frame */
  receive(frame) {
    switch (frame.op) {
      case 10:
        this.hello(frame.d.heartbeat_interval);
        break;
      case 11:
        this.awaitingAck = false;
        break;
      case 0:
        this.dispatch(frame);
        break;
      case 7:
        // The edge is draining: go elsewhere now, resuming.
        this.socket?.close(4000);
        break;
      case 9:
        this.sessionId = null;
        this.seq = 0;
        this.identify();
        break;
      case 21:
      case 22:
        this.options.onReply(frame.op, frame.d);
        break;
      default:
        break;
    }
  }

  /** @param {{d: any, s: number | null, t: string | null}} frame */
  dispatch(frame) {
    if (frame.s !== null) this.seq = frame.s;
    if (frame.t === "READY") {
      this.sessionId = frame.d.session_id;
    }
    if (frame.t === "READY" || frame.t === "RESUMED") {
      this.attempt = 0;
      this.setState("live", frame.t);
    }
    if (frame.t) this.options.onDispatch(frame.t, frame.d);
  }

  /** @param {number} interval */
  hello(interval) {
    this.awaitingAck = false;
    const beat = (/** @type {number} */ delay) => {
      this.heartbeatTimer = setTimeout(() => {
        if (this.awaitingAck) {
          // No ACK since the last beat: the connection is a zombie.
          this.socket?.close(4000);
          return;
        }
        this.awaitingAck = true;
        this.send(1, this.seq || null);
        beat(interval);
      }, delay);
    };
    clearTimeout(this.heartbeatTimer);
    beat(interval * Math.random());
    if (this.sessionId && this.seq > 0) {
      this.setState("resuming", "");
      this.send(6, { token: this.options.token, session_id: this.sessionId, seq: this.seq });
    } else {
      this.identify();
    }
  }

  identify() {
    this.setState("identifying", "");
    /** @type {Record<string, unknown>} */
    const data = { token: this.options.token, presence: { status: "online", activities: [], since: null, afk: false } };
    const last = this.options.lastMessageIds();
    if (Object.keys(last).length > 0) data.last_message_ids = last;
    this.send(2, data);
  }

  /**
   * @param {WebSocket} socket
   * @param {number} code
   */
  closed(socket, code) {
    if (socket !== this.socket || this.stopped) return;
    clearTimeout(this.heartbeatTimer);
    if (TERMINAL.has(code)) {
      this.setState("stopped", `closed ${code}`);
      this.options.onTerminal(code);
      return;
    }
    // Jittered: between half the exponential bound and all of it; a rate
    // limit (4008) waits the whole bound twice over.
    const bound = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt);
    const wait = code === 4008 ? bound * 2 : bound * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.setState("waiting", `closed ${code}, retrying in ${(wait / 1000).toFixed(1)} s`);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  /**
   * @param {LinkState} state
   * @param {string} detail
   */
  setState(state, detail) {
    this.state = state;
    this.options.onState(state, detail);
  }
}
