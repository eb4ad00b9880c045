//! The entry point: signs in (or reuses the kept token), joins the guild of
//! an `/invite/CODE` link once signed in, and starts the app.

import { App } from "./app.js";
import { Api } from "./api.js";
import { showLogin } from "./login.js";

const TOKEN_KEY = "rookery.token";

const root = /** @type {HTMLElement} */ (document.getElementById("app"));
const inviteMatch = /^\/invite\/([\w-]+)$/.exec(location.pathname);
let inviteCode = inviteMatch ? inviteMatch[1] : null;

function signIn() {
  showLogin(
    root,
    (token) => {
      localStorage.setItem(TOKEN_KEY, token);
      start(token);
    },
    inviteCode,
  );
}

/** @param {string} token */
async function start(token) {
  if (inviteCode) {
    const code = inviteCode;
    inviteCode = null;
    try {
      const guild = await new Api(token).post(`/invites/${code}`);
      location.hash = `${guild.id}/`;
    } catch (error) {
      console.warn("the invite could not be used", error);
    }
    history.replaceState(null, "", `/${location.hash}`);
  }
  const app = new App(root, token, () => {
    localStorage.removeItem(TOKEN_KEY);
    signIn();
  });
  app.start();
  // For the browser tests and the curious: the running client.
  /** @type {any} */ (window).rookery = app;
}

const kept = localStorage.getItem(TOKEN_KEY);
if (kept) start(kept);
else signIn();
