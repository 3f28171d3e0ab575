// The banner's loader, bundled with the generated glue into `consentry-banner.js`: it
// starts the WebAssembly, listens to the page, posts decisions, runs the scripts consent
// allows (in document order) and fires the `consentry:*` events. Outside a browser (a
// static-site generator or a test runner importing the package) it does nothing.
import * as banner from "./glue.js";

if (typeof document < "u") {
  const fire = (name, detail) =>
    document.dispatchEvent(new CustomEvent("consentry:" + name, { detail }));
  const form = () => document.querySelector("#consentry form");
  let started;
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
  // Records a decision: `make` gives, with a server, the body to post (to the form's
  // `action` attribute: its `action` property is the buttons named so), in static mode the
  // new state with `reload`. Events name the ids granted or withdrawn.
  const decide = (make, target) => {
    const before = banner.get().granted;
    const visible = shown();
    const done = ({ reload, ...state }) => {
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
    };
    // A failure anywhere (even in `make`) rejects, so the form falls back to its own post.
    return new Promise((resolve) => resolve(make())).then((answer) =>
      typeof answer == "string"
        ? fetch(target.getAttribute("action"), {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json" },
            body: answer,
          })
            .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
            .then((state) => done(banner.decided(state)))
        : done(answer),
    );
  };
  const opened = () => banner.open() && fire("show", { view: "settings" });

  // Static mode: the page's configuration is read and checked here, where JSON is native
  // (each mistake named on the console), and handed to the WebAssembly as its fields in a
  // fixed order, joined by NUL (`fields.rs` reads them). `undefined` when there
  // is nothing to start from.
  const configure =
    STATIC &&
    (() => {
    const error = (message) => console.error("consentry: " + message);
    const element = document.getElementById("consentry-config");
    if (!element)
      return error(
        'no <script type="application/json" id="consentry-config"> on this page; the banner cannot start',
      );
    let config;
    try {
      config = JSON.parse(element.text);
    } catch (e) {
      return error("the configuration is not valid JSON: " + e.message);
    }
    if (!config || typeof config != "object")
      return error("the configuration must be a JSON object");
    const fields = [];
    const object = (value) => (value && typeof value == "object" ? value : {});
    const text = (value) => fields.push(typeof value == "string" ? value.replaceAll("\0", "") : "");
    const flag = (value) => fields.push(value ? "1" : "");
    const list = (items, each) => {
      items = Array.isArray(items) ? items : [];
      fields.push(items.length);
      items.forEach(each);
    };
    // A list of objects: anything else in it reads as an empty one.
    const objects = (items, each) => list(items, (item) => each(object(item)));
    // Names a key nobody reads (a misspelling would otherwise be ignored silently).
    const known = (object, names, what) => {
      for (const key in object)
        if (!names.includes(key) && key != "categories")
          error(`unknown ${what}"${key}" (known: ${names.join(" ")})`);
    };
    const texts = (given) => {
      known(given, TEXT_NAMES, "text ");
      TEXT_NAMES.forEach((name) => text(given[name]));
    };
    const cookies = (owner) =>
      objects(owner.cookies, (cookie) => {
        text(cookie.name);
        flag(cookie.prefix);
        text(cookie.provider);
        text(cookie.purpose);
        text(cookie.duration);
        text(cookie.domain);
        text(cookie.path);
      });
    const described = (item) => {
      text(item.id);
      text(item.label);
      text(item.description);
    };
    known(config, CONFIG_KEYS, "configuration key ");
    text(typeof config.revision == "number" ? "" + config.revision : "");
    flag(config.gpc);
    text(config.privacy);
    list(config.gpcDenies, text);
    text(config.language);
    texts(object(config.texts));
    list(Object.entries(object(config.translations)), ([tag, given]) => {
      given = object(given);
      text(tag);
      texts(given);
      list(Object.entries(object(given.categories)), ([id, labels]) =>
        described({ ...object(labels), id }),
      );
    });
    objects(config.categories, (category) => {
      described(category);
      flag(category.locked);
      cookies(category);
      objects(category.services, (service) => {
        described(service);
        cookies(service);
      });
    });
    const ids = (Array.isArray(config.categories) ? config.categories : []).map((c) =>
      typeof c?.id == "string" ? c.id : "",
    );
    if (ids.every((id) => id == "necessary"))
      error('no categories besides "necessary": give "categories" as a list of {id, label, description}');
    ids.forEach((id, index) => {
      if (!id) error('a category has no "id"');
      else if (ids.indexOf(id) < index) error("category listed twice: " + id);
    });
    return fields.join("\0");
  });

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
    const state = banner.start(STATIC ? configure() : undefined);
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
        return (
          endpoint
            ? fetch(endpoint, { method: "DELETE", credentials: "same-origin" })
            : Promise.resolve()
        ).then(() => location.reload());
      },
      language: (tag) => {
        const switched = banner.language(tag);
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
