// A language's texts (src/i18n.rs): `texts-{lang}-{digest}.json`, a JSON array beside the bundles, fetched
// once. Both bundles' glues import this one file (snippets/<crate>/src/i18n.js, three folders below the
// bundles), so what the table page's bundle fetched is the pages bundle's at once.
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
