// The banner's loader, bundled with the generated glue into `consentry-banner.js`: it
// starts the WebAssembly, listens to the page, posts decisions, runs the scripts consent
// allows (in document order) and fires the `consentry:*` events. Outside a browser (a
// static-site generator or a test runner importing the package) it does nothing.
import * as banner from "./glue.js";
import { start as site } from "./site.js";

if (typeof document < "u") {
  const fire = (name, detail) =>
    document.dispatchEvent(new CustomEvent("consentry:" + name, { detail }));
  const form = () => document.querySelector("#consentry form");
  let started, local;
  const ready = new Promise((resolve) => (started = resolve));
  const api = (window.consentry = { ready });

  // Inert scripts become live ones with every attribute but `type` (`data-type` gives
  // the real one, e.g. `module`) and the nonce; each external script waits for the one
  // before it, unless it is `async`.
  let queue = Promise.resolve();
  const activate = () => {
    const due = banner.due();
    queue = queue.then(async () => {
      for (const inert of due) {
        if (!inert.isConnected) continue;
        const src = inert.dataset.src;
        if (inert.tagName == "IFRAME") {
          inert.removeAttribute("data-src");
          inert.src = src;
          continue;
        }
        const live = document.createElement("script");
        for (const { name, value } of inert.attributes)
          if (!/^(type|data-src|data-type)$/.test(name)) live.setAttribute(name, value);
        if (inert.dataset.type) live.type = inert.dataset.type;
        live.nonce = inert.nonce;
        if (src) {
          live.src = src;
          const loaded = new Promise((go) => (live.onload = live.onerror = go));
          inert.replaceWith(live);
          if (!inert.hasAttribute("async")) await loaded;
        } else {
          live.text = inert.text;
          inert.replaceWith(live);
        }
      }
    });
  };

  // Google Consent Mode, when the page has Google's tag.
  const mode = () =>
    typeof window.gtag == "function" && window.gtag("consent", "update", banner.mode());

  // The first layer is shown (not hidden, not in the settings dialog).
  const shown = () => {
    const section = document.getElementById("consentry");
    return section && !section.hidden && !section.closest("dialog");
  };
  // Records a decision: `make` gives the body the banner posts, to the form's `action`
  // attribute (its `action` property is the buttons named so); in static mode the site
  // answers it instead of a server. Events name the ids granted or withdrawn.
  const decide = (make, target) => {
    const before = banner.get().granted;
    const visible = shown();
    // A failure anywhere (even in `make`) rejects, so the form falls back to its own post.
    return new Promise((resolve) => resolve(make()))
      .then((body) => {
        if (typeof body != "string") throw new TypeError("consentry: nothing to record");
        return STATIC
          ? local.decide(JSON.parse(body))
          : fetch(target.getAttribute("action"), {
              method: "POST",
              credentials: "same-origin",
              headers: { "Content-Type": "application/json" },
              body,
            }).then((r) => (r.ok ? r.json() : Promise.reject(r.status)));
      })
      .then((answer) => {
        const { reload, ...state } = banner.decided(answer);
        const changed = before
          .filter((id) => !state.granted.includes(id))
          .concat(state.granted.filter((id) => !before.includes(id)));
        mode();
        if (visible) fire("hide", { view: "banner" });
        fire("consent", state);
        fire("change", { ...state, changed });
        if (reload) location.reload();
        else activate();
        return state;
      });
  };
  const opened = () => banner.open() && fire("show", { view: "settings" });

  // Streaming compilation; a static host may serve the file with another type, so the
  // static build falls back to compiling the bytes.
  const url = new URL("__WASM__", import.meta.url);
  let loading = WebAssembly.instantiateStreaming(fetch(url), banner.imports());
  if (STATIC)
    loading = loading.catch(() =>
      fetch(url)
        .then((response) => response.arrayBuffer())
        .then((bytes) => WebAssembly.instantiate(bytes, banner.imports())),
    );
  loading.then(({ instance, module }) => {
    banner.finish(instance, module);
    // Static mode renders the banner's markup first (the site reads the configuration).
    const state = (!STATIC || (local = site())) && banner.start();
    if (!state) return;
    addEventListener("submit", (event) => {
      const target = event.target;
      if (!target.closest(".consentry-form") || "native" in target.dataset) return;
      event.preventDefault();
      const submitter = event.submitter;
      decide(() => banner.submit(target, submitter?.value ?? ""), target).catch(() => {
        // The plain form post works without JavaScript, so it is the fallback.
        target.dataset.native = "";
        target.requestSubmit(submitter);
      });
    });
    addEventListener("click", (event) => {
      const target = event.target;
      if (target.closest?.("[data-consent-open],.consentry-customize>summary")) {
        if (opened()) event.preventDefault();
      } else if (target.name == "granted" && target.form) {
        // A category switch sets its services; a service sets its category (on while any
        // of its services is).
        const all = [...target.form.querySelectorAll("[name=granted]")];
        const category = target.dataset.category;
        for (const input of all)
          if (category ? input.value == category : input.dataset.category == target.value)
            input.checked = category
              ? all.some((s) => s.dataset.category == category && s.checked)
              : target.checked;
      }
    });
    addEventListener(
      "close",
      (event) => {
        if (event.target.id == "consentry-dialog") {
          banner.closed();
          fire("hide", { view: "settings" });
        }
      },
      true,
    );
    Object.assign(api, {
      get: banner.get,
      allows: banner.allows,
      open: opened,
      show: () => banner.show() && fire("show", { view: "banner" }),
      hide: () => {
        const visible = shown();
        if (visible) {
          document.getElementById("consentry").hidden = true;
          fire("hide", { view: "banner" });
        }
        return visible;
      },
      // `"all"` (or nothing) accepts all; one id is a list of one.
      accept: (categories) =>
        decide(
          () =>
            banner.accept(
              categories == "all"
                ? undefined
                : typeof categories == "string"
                  ? [categories]
                  : categories,
            ),
          form(),
        ),
      reset: () => {
        const endpoint = banner.reset();
        return Promise.resolve(
          STATIC
            ? local.forget()
            : endpoint && fetch(endpoint, { method: "DELETE", credentials: "same-origin" }),
        ).then(() => location.reload());
      },
      // Static mode only: with a server, the server picks the language.
      language: (tag) => {
        const switched = STATIC && local.language(tag);
        if (switched) fire("language", banner.get());
        return switched;
      },
    });
    if (state.decided) mode();
    activate();
    started(state);
    fire("ready", state);
    if (state.decided) fire("consent", state);
    else if (!document.getElementById("consentry")?.hidden) fire("show", { view: "banner" });
  });
}
