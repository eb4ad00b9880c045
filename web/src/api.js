//! The REST client: JSON over `fetch` with the session's token, Rookery's
//! error objects turned into `ApiError`, and a 429 waited out and retried
//! (twice at most) as the server's `retry_after` says.

/** An answer other than 2xx: its status and Rookery's `{code, message}`. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {number} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const RETRIES_ON_429 = 2;

export class Api {
  /** @param {string | null} token */
  constructor(token) {
    this.token = token;
    /** Called when the server refuses the token (401): log in again. */
    this.onUnauthorized = () => {};
  }

  /**
   * @param {string} method
   * @param {string} path under `/api/v1`
   * @param {unknown} [body]
   * @returns {Promise<any>}
   */
  async request(method, path, body) {
    for (let attempt = 0; ; attempt++) {
      /** @type {Record<string, string>} */
      const headers = {};
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await fetch(`/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (response.status === 204) return null;
      const answer = await response.json().catch(() => null);
      if (response.ok) return answer;
      if (response.status === 429 && attempt < RETRIES_ON_429) {
        const seconds = Number(answer?.retry_after ?? response.headers.get("retry-after") ?? 1);
        await new Promise((resolve) => setTimeout(resolve, Math.min(seconds, 10) * 1000));
        continue;
      }
      if (response.status === 401 && this.token) this.onUnauthorized();
      throw new ApiError(response.status, answer?.code ?? 0, answer?.message ?? response.statusText);
    }
  }

  /** @param {string} path */
  get(path) {
    return this.request("GET", path);
  }

  /** @param {string} path @param {unknown} [body] */
  post(path, body) {
    return this.request("POST", path, body);
  }

  /** @param {string} path @param {unknown} [body] */
  patch(path, body) {
    return this.request("PATCH", path, body);
  }

  /** @param {string} path @param {unknown} [body] */
  put(path, body) {
    return this.request("PUT", path, body);
  }

  /** @param {string} path */
  delete(path) {
    return this.request("DELETE", path);
  }
}
