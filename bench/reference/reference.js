// The benchmark's reference: the Data Sources table written by hand in plain JavaScript, fetching the
// same API and rendering the same columns, controls and row actions as the Leptos page.
"use strict";

const LABELS = {
  connected: "Connected",
  reauthentication_required: "Reauthentication required",
  revoked: "Revoked",
  disconnected: "Disconnected",
};
const RANK = { reauthentication_required: 0, revoked: 1, connected: 2, disconnected: 3 };
const COLUMNS = [
  ["account", "Account", (a, b) => a.account_name.toLowerCase().localeCompare(b.account_name.toLowerCase())],
  ["account_id", "Account ID", (a, b) => a.account_id.localeCompare(b.account_id)],
  ["type", "Type", null],
  ["mode", "Mode", (a, b) => Number(a.livemode) - Number(b.livemode)],
  ["scope", "Scope", (a, b) => a.scope.localeCompare(b.scope)],
  ["status", "Status", (a, b) => RANK[a.status] - RANK[b.status]],
  ["connected_by", "Connected by", (a, b) => a.connected_by.toLowerCase().localeCompare(b.connected_by.toLowerCase())],
  ["connected_at", "Connected at", (a, b) => a.connected_at.localeCompare(b.connected_at)],
  ["last_checked", "Last checked", (a, b) => (a.last_checked_at || "").localeCompare(b.last_checked_at || "")],
  ["actions", "Actions", null],
];

let rows = [];
const query = { search: "", status: "", sort: "connected_at", descending: true };

function cell(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit",
});

function when(iso) {
  return iso ? DATE_TIME.format(new Date(iso)) : "—";
}

const built = new Map();
let lastOrder = null;

function rowElement(r) {
  const key = r.id + "|" + r.status + "|" + (r.last_checked_at || "");
  let tr = built.get(key);
  if (tr) return tr;
  tr = document.createElement("tr");
  const name = document.createElement("th");
  name.scope = "row";
  const link = cell("a", r.account_name);
  link.href = "/connections/" + r.id;
  name.append(link);
  tr.append(
    name,
    cell("td", r.account_id),
    cell("td", r.provider === "stripe" ? "Stripe" : r.provider),
    cell("td", r.livemode ? "Live" : "Test"),
    cell("td", r.scope),
    cell("td", LABELS[r.status]),
    cell("td", r.connected_by),
    cell("td", when(r.connected_at)),
    cell("td", when(r.last_checked_at)),
  );
  const actions = document.createElement("td");
  if (r.status !== "connected") actions.append(cell("button", r.status === "disconnected" ? "Reconnect" : "Reauthenticate"));
  if (r.status === "connected" || r.status === "reauthentication_required") actions.append(cell("button", "Check"));
  if (r.status !== "disconnected") actions.append(cell("button", "Disconnect"));
  tr.append(actions);
  built.set(key, tr);
  return tr;
}

function render() {
  const needle = query.search.trim().toLowerCase();
  const compare = COLUMNS.find(([key]) => key === query.sort)[2];
  const shown = rows
    .filter((r) => !query.status || r.status === query.status)
    .filter((r) => !needle || r.account_name.toLowerCase().includes(needle) || r.account_id.toLowerCase().includes(needle))
    .sort((a, b) => {
      const order = compare(a, b) || a.id.localeCompare(b.id);
      return query.descending ? -order : order;
    });
  // Each row's element is built once and reused, and the body is only touched when the rows shown
  // change, as a careful hand-written page would.
  const order = shown.map((r) => r.id + "|" + r.status + "|" + (r.last_checked_at || "")).join(",");
  if (order !== lastOrder) {
    document.querySelector("tbody").replaceChildren(...shown.map(rowElement));
    lastOrder = order;
  }
  document.getElementById("count").textContent = shown.length + " of " + rows.length + " shown";
}

function headers() {
  const tr = document.getElementById("headers");
  for (const [key, label, compare] of COLUMNS) {
    const th = document.createElement("th");
    th.scope = "col";
    if (compare) {
      const button = cell("button", label);
      button.className = "cx-sort";
      button.addEventListener("click", () => {
        if (query.sort === key) query.descending = !query.descending;
        else {
          query.sort = key;
          query.descending = key === "connected_at" || key === "last_checked";
        }
        render();
      });
      th.append(button);
    } else {
      th.textContent = label;
    }
    tr.append(th);
  }
}

async function load() {
  headers();
  document.getElementById("search").addEventListener("input", (e) => {
    query.search = e.target.value;
    render();
  });
  document.getElementById("status").addEventListener("change", (e) => {
    query.status = e.target.value;
    render();
  });
  const response = await fetch("/api/connections", { headers: { Accept: "application/json" } });
  rows = (await response.json()).connections;
  render();
  performance.mark("cx-first-row");
}

load();
