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
