//! The sign-in screen: log in, or register a new account, then hand the
//! token to the app. The token is kept in `localStorage` until logging out.

import { Api, ApiError } from "./api.js";
import { h, fill } from "./dom.js";

/**
 * @param {HTMLElement} root
 * @param {(token: string) => void} signedIn
 * @param {string | null} inviteCode shown as what signing in will join
 */
export function showLogin(root, signedIn, inviteCode) {
  const username = h("input", { name: "username", autocomplete: "username", required: true, minlength: 2, maxlength: 32, "aria-label": "Username" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, minlength: 8, maxlength: 128, "aria-label": "Password" });
  const error = h("p", { class: "error", role: "alert" });
  const submit = async (/** @type {"login" | "register"} */ action) => {
    error.textContent = "";
    if (!form.reportValidity()) return;
    try {
      const answer = await new Api(null).post(`/auth/${action}`, { username: username.value.trim(), password: password.value });
      signedIn(answer.token);
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : String(e);
    }
  };
  const form = h(
    "form",
    {
      class: "login",
      "aria-label": "Sign in",
      onsubmit: (/** @type {SubmitEvent} */ e) => {
        e.preventDefault();
        submit("login");
      },
    },
    h("h1", {}, "Rookery"),
    inviteCode ? h("p", {}, "Sign in or register to join the guild you were invited to.") : null,
    h("label", {}, "Username", username),
    h("label", {}, "Password", password),
    error,
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", class: "primary" }, "Log in"),
      h("button", { type: "button", onclick: () => submit("register") }, "Register"),
    ),
  );
  fill(root, form);
  username.focus();
}
