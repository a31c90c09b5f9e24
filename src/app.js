// The app's JavaScript beside its wasm, in one module (snippets/<crate>/src/app.js, three folders below the
// bundles): a cold load fetches one file for it, not one per Rust module (README, Benchmarks). Both
// bundles' glues import this file, so its state is theirs together.

// A language's texts (src/i18n.rs): `texts-{lang}-{digest}.json`, a JSON array beside the bundles, fetched
// once, so what the table page's bundle fetched is the pages bundle's at once.
const loading = {};
const loaded = {};

export function loadTexts(name) {
  loading[name] ??= fetch(new URL(`../../../${name}`, import.meta.url)).then(async (response) => {
    if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
    return (loaded[name] = await response.json());
  });
  return loading[name].catch((error) => {
    delete loading[name];
    throw error;
  });
}

export function loadedTexts(name) {
  return loaded[name];
}

// The pages bundle (src/split.rs) sits beside the table's: imported and started once.
let pagesLoading;
export function loadPages(name) {
  pagesLoading ??= import(new URL(`../../../${name}.js`, import.meta.url).href).then(async (glue) => {
    await glue.default({ module_or_path: new URL(`../../../${name}_bg.wasm`, import.meta.url) });
    return glue;
  });
  return pagesLoading;
}
// Once the table shows its first rows (or after 3 s without), when the browser is idle.
export function prefetchPages(name) {
  const idle = () => (window.requestIdleCallback || setTimeout)(() => loadPages(name).catch(() => { pagesLoading = undefined; }));
  if (performance.getEntriesByName("cx-first-row").length) return idle();
  let done = false;
  const once = () => { if (!done) { done = true; idle(); } };
  try {
    new PerformanceObserver((list, observer) => {
      if (list.getEntriesByName("cx-first-row").length) { observer.disconnect(); once(); }
    }).observe({ type: "mark" });
  } catch (_) {}
  setTimeout(once, 3000);
}

// `<connections-panel>` (src/embed.rs): its attributes are mount()'s options.
export function defineConnectionsPanel(mount) {
  if (customElements.get("connections-panel")) return;
  // Attributes mirror mount()'s options; a session token is a property (never an attribute, which
  // would put it in the DOM for every script and extension to read).
  const attributes = { basePath: "base-path", apiBase: "api-base", locale: "locale", routing: "routing", connectIn: "connect-in" };
  customElements.define("connections-panel", class extends HTMLElement {
    connectedCallback() {
      const options = {};
      for (const [option, attribute] of Object.entries(attributes)) {
        if (this.hasAttribute(attribute)) options[option] = this.getAttribute(attribute);
      }
      if (this.sessionToken !== undefined) options.sessionToken = this.sessionToken;
      try {
        this._mounted = mount(this, options);
      } catch (error) {
        this.dispatchEvent(new CustomEvent("connections:error", { bubbles: true, composed: true, detail: { code: "mount_failed", message: String(error.message || error) } }));
        throw error;
      }
    }
    disconnectedCallback() {
      if (this._mounted) { this._mounted.unmount(); this._mounted = undefined; }
    }
  });
}
