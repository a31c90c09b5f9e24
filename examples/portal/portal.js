// What the example portal does around the app: supply its session, and hear the app's events.

let cached = null;

// The portal's backend signs a session for its signed-in user with the secret it shares with
// Connections. Connections calls this before each request; a cached token is reused until near expiry.
export async function sessionToken() {
  if (cached && cached.until > Date.now()) return cached.token;
  const response = await fetch("/session-token", { cache: "no-store" });
  if (!response.ok) throw new Error(`session-token: HTTP ${response.status}`);
  const { token, expires_in } = await response.json();
  cached = { token, until: Date.now() + (expires_in - 60) * 1000 };
  return token;
}

export const EVENTS = ["connections:connected", "connections:reauthenticated", "connections:disconnected", "connections:error"];

// Lists every event the app sends, as a host would react to them (and so tests can read them).
export function logEvents(target) {
  window.hostEvents = [];
  const list = document.getElementById("host-events");
  for (const type of EVENTS) {
    target.addEventListener(type, (event) => {
      window.hostEvents.push({ type, detail: event.detail });
      const item = document.createElement("li");
      const connection = event.detail && event.detail.connection;
      item.textContent = connection ? `${type}: ${connection.account_name}` : `${type}: ${event.detail && event.detail.message}`;
      list.append(item);
    });
  }
}

// The portal's backend receives Connections' signed webhooks (it verifies each one); the page shows
// the last few, so the events are seen arriving even when no browser was open when they happened.
export function showBackendEvents() {
  const list = document.getElementById("backend-events");
  const render = async () => {
    try {
      const response = await fetch("/backend/events", { cache: "no-store" });
      if (!response.ok) return;
      const { events } = await response.json();
      const items = events.map((event) => {
        const item = document.createElement("li");
        const when = new Date(event.received_at).toLocaleTimeString();
        item.textContent = `${event.type}: ${event.account_name} (${when})`;
        return item;
      });
      list.replaceChildren(...items);
      if (events.length === 0) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "None yet." }));
    } catch {
      // The demo server stopped; keep what is shown.
    }
  };
  render();
  setInterval(render, 2000);
}
