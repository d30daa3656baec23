/**
 * The live page's script, sent as it is written here (there is no build
 * step for the browser). It keeps a socket to /live open, pings with the
 * version it knows (so the tracker's auto-response answers an idle page
 * without waking the object), and when a notice or a pong tells of a newer
 * version it fetches the same address again and swaps the parts marked
 * `data-live`, at most once a second. The search form is never replaced,
 * so typing is never lost. Without this script the page is still whole; it
 * just does not move.
 */
export const LIVE_SCRIPT = `"use strict";
(() => {
  const status = document.getElementById("live-status");
  const PING_MS = 10000;
  const MIN_REFRESH_GAP_MS = 1000;
  let version = document.body.dataset.version || "";
  let socket = null;
  let pinger = 0;
  let failures = 0;
  let stale = false;
  let refreshing = false;
  let lastRefresh = 0;
  let refreshTimer = 0;
  let retryTimer = 0;

  const show = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };

  const ping = () => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping", v: version }));
  };

  function connect() {
    show("connecting", failures === 0 ? "Connecting…" : "Reconnecting…");
    const url = new URL("/live", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.search = "";
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      failures = 0;
      show("live", "Live");
      // The first ping tells the page whether it missed a change while it connected.
      ping();
      pinger = setInterval(ping, PING_MS);
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!message || typeof message.v !== "string" || (message.type !== "changed" && message.type !== "pong")) return;
      if (message.v === version) return;
      version = message.v;
      stale = true;
      schedule();
    });
    socket.addEventListener("close", () => {
      clearInterval(pinger);
      socket = null;
      const wait = Math.min(30, 2 ** failures++);
      show("lost", "Connection lost; changes are not shown. Retrying in " + wait + " s…");
      retryTimer = setTimeout(() => {
        retryTimer = 0;
        connect();
      }, wait * 1000);
    });
  }

  function schedule() {
    if (!stale || refreshing || refreshTimer || document.visibilityState === "hidden") return;
    refreshTimer = setTimeout(refresh, Math.max(0, lastRefresh + MIN_REFRESH_GAP_MS - Date.now()));
  }

  async function refresh() {
    refreshTimer = 0;
    refreshing = true;
    stale = false;
    lastRefresh = Date.now();
    try {
      const response = await fetch(location.href, { headers: { Accept: "text/html" }, cache: "no-store", credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const next = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const part of document.querySelectorAll("[data-live]")) {
        const fresh = next.getElementById(part.id);
        if (fresh) part.replaceWith(document.adoptNode(fresh));
      }
      document.title = next.title;
      if (socket && socket.readyState === WebSocket.OPEN) show("live", "Live");
    } catch (error) {
      stale = true;
      show("lost", "Could not fetch the changes (" + (error && error.message ? error.message : error) + "); trying again…");
      lastRefresh = Date.now() + 4000;
    } finally {
      refreshing = false;
      schedule();
    }
  }

  document.addEventListener("visibilitychange", schedule);
  addEventListener("online", () => {
    if (!retryTimer) return;
    clearTimeout(retryTimer);
    retryTimer = 0;
    connect();
  });
  // "/" jumps to the search, as on many sites; not while typing.
  addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    event.preventDefault();
    document.getElementById("q")?.focus();
  });
  connect();
})();
`;
