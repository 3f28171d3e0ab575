// Static mode: a site without a server. This module stands in for the consentry layer: it
// reads and checks the page's configuration (each mistake named on the console), renders
// the banner's markup in the visitor's language (the markup `markup::render` writes, so
// the WebAssembly enhances it exactly as on a server page), and answers decisions by
// keeping them in the first-party choice cookie a server would also honour, deleting the
// declared cookies of whatever is not granted. Bundled into the static build only.
//
// CONFIG_KEYS, TEXT_NAMES, DEFAULT_TEXTS (English, in TEXT_NAMES order), NECESSARY
// (id, label, description), RTL (right-to-left primary subtags) and CHOICE_COOKIE come from
// the Rust crate at build time, so these lists live in one place.

const error = (message) => void console.error("consentry: " + message);
const object = (value) => (value && typeof value == "object" && !Array.isArray(value) ? value : {});
const array = (value) => (Array.isArray(value) ? value : []);
const string = (value) => (typeof value == "string" ? value : "");
const objects = (value) => array(value).map(object);

// Names a key nobody reads (a misspelling would otherwise be ignored silently).
const known = (given, names, what) => {
  for (const key in given)
    if (!names.includes(key) && key != "categories")
      error(`unknown ${what}"${key}" (known: ${names.join(" ")})`);
};

// Texts over `base`, where given and not empty.
const texts = (given, base) => {
  known(given, TEXT_NAMES, "text ");
  return base.map((text, index) => string(given[TEXT_NAMES[index]]) || text);
};

const entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text) => text.replace(/[&<>"']/g, (c) => entities[c]);
const primary = (tag) => tag.split(/[-_]/)[0].toLowerCase();

// `<category>:<service>` → `<category>`.
const categoryOf = (id) => id.split(":")[0];

// The cookies the page sees: `[name, value]` pairs.
const jar = () =>
  document.cookie.split(";").flatMap((pair) => {
    const at = pair.indexOf("=");
    return at < 0 ? [] : [[pair.slice(0, at).trimStart(), pair.slice(at + 1)]];
  });

// A choice cookie's value (`protocol::parse_choice`): version, revision, time (from
// version 2), consent id (from 3), granted ids; `undefined` when it is not one.
export const parseChoice = (value) => {
  const [version, ...parts] = value.split(".");
  const number = () => {
    const digits = parts.shift();
    return /^\d+$/.test(digits) && +digits < 2 ** 32 ? +digits : NaN;
  };
  if (!/^[123]$/.test(version)) return;
  const revision = number();
  const time = version > 1 ? number() : null;
  const id = version > 2 ? parts.shift() : null;
  if (isNaN(revision) || isNaN(time) || id === "" || id === undefined) return;
  return { revision, time, id, granted: parts.filter(Boolean) };
};

// A configuration (the JSON text), read and checked; `undefined` when there is nothing to
// start from (the console says why).
export const configure = (text) => {
  let config;
  try {
    config = JSON.parse(text);
  } catch (e) {
    return error("the configuration is not valid JSON: " + e.message);
  }
  if (config !== object(config)) return error("the configuration must be a JSON object");
  known(config, CONFIG_KEYS, "configuration key ");
  const cookies = (owner) =>
    objects(owner.cookies).map((c) => ({
      name: string(c.name),
      prefix: !!c.prefix,
      provider: string(c.provider),
      purpose: string(c.purpose),
      duration: string(c.duration),
      domain: string(c.domain),
      path: string(c.path) || "/",
    }));
  const described = (item) => ({
    id: string(item.id),
    label: string(item.label),
    description: string(item.description),
  });
  const categories = objects(config.categories).map((category) => ({
    ...described(category),
    locked: !!category.locked,
    cookies: cookies(category),
    services: objects(category.services).map((service) => ({
      ...described(service),
      cookies: cookies(service),
    })),
  }));
  const ids = categories.map((c) => c.id);
  if (ids.every((id) => id == NECESSARY[0]))
    error('no categories besides "necessary": give "categories" as a list of {id, label, description}');
  ids.forEach((id, index) => {
    if (!id) error('a category has no "id"');
    else if (ids.indexOf(id) < index) error("category listed twice: " + id);
  });
  // `necessary` comes first and is always on, whatever the configuration says.
  const [id, label, description] = NECESSARY;
  const necessary = ids.indexOf(id);
  categories.unshift(
    necessary < 0
      ? { id, label, description, cookies: [], services: [] }
      : categories.splice(necessary, 1)[0],
  );
  categories[0].locked = true;
  // The configured language first (its labels are the categories'), then the translations,
  // each text over the configured language's.
  const base = texts(object(config.texts), DEFAULT_TEXTS);
  const languages = [
    { tag: string(config.language) || "en", texts: base, labels: {} },
    ...Object.entries(object(config.translations)).map(([tag, given]) => ({
      tag,
      texts: texts(object(given), base),
      labels: object(object(given).categories),
    })),
  ];
  const revision = config.revision;
  return {
    revision: Number.isInteger(revision) && revision >= 0 && revision < 2 ** 32 ? revision : 0,
    gpc: !!config.gpc,
    gpcDenies: array(config.gpcDenies),
    privacy: string(config.privacy),
    categories,
    languages,
  };
};

// Which language to show for the `wanted` tags: the first one offered exactly, else by its
// primary subtag; `undefined` when none matches.
export const pick = (languages, wanted) => {
  for (const tag of wanted.filter(Boolean)) {
    const index = languages.findIndex((l) => l.tag.toLowerCase() == tag.toLowerCase());
    const loose = languages.findIndex((l) => primary(l.tag) == primary(tag));
    if (index >= 0 || loose >= 0) return index >= 0 ? index : loose;
  }
};

// The banner's markup, as `markup::render` writes it for a server page.
export const render = (site, state, language, open, hidden) => {
  const [title, body, acceptAll, rejectAll, customize, save, privacyLink, settingsLink,
    settingsTitle, alwaysOn, gpcHonoured, cookiesText, ...headings] = language.texts;
  const text = (id, item, key) => string(object(language.labels[id])[key]) || item[key];
  const button = (action, text) =>
    `<button type="submit" class="consentry-button" name="action" value="${action}">${escape(text)}</button>\n`;
  const attribute = (name, value) => (value == null ? "" : ` ${name}="${escape("" + value)}"`);
  const item = (id, of, category, locked, always) => {
    const checked = locked || (open && state.granted.includes(id));
    const e = escape(id);
    return (
      `<input type="checkbox" role="switch" id="consentry-${e}" name="granted" value="${e}"` +
      attribute("data-category", category) +
      (checked ? " checked" : "") +
      (locked ? " disabled" : "") +
      ` aria-describedby="consentry-${e}-desc">\n<label for="consentry-${e}">${escape(text(id, of, "label"))}` +
      (always ? ` <small>(${escape(alwaysOn)})</small>` : "") +
      `</label>\n<p id="consentry-${e}-desc">${escape(text(id, of, "description"))}</p>\n`
    );
  };
  const switches = site.categories
    .map((category) => {
      const { id, locked, services } = category;
      const cookies = category.cookies.concat(...services.map((s) => s.cookies));
      return (
        '<div class="consentry-category">\n' +
        item(id, category, null, locked, locked) +
        (services.length
          ? '<div class="consentry-services">\n' +
            services
              .map(
                (service) =>
                  '<div class="consentry-category">\n' +
                  item(id + ":" + service.id, service, id, locked) +
                  "</div>\n",
              )
              .join("") +
            "</div>\n"
          : "") +
        (cookies.length
          ? `<details class="consentry-cookies">\n<summary>${escape(cookiesText)} (${cookies.length})</summary>\n<table>\n<thead><tr>` +
            headings.map((h) => `<th scope="col">${escape(h)}</th>`).join("") +
            "</tr></thead>\n<tbody>\n" +
            cookies
              .map(
                (c) =>
                  `<tr><td><code>${escape(c.name)}${c.prefix ? "*" : ""}</code></td>` +
                  [c.provider, c.purpose, c.duration].map((t) => `<td>${escape(t)}</td>`).join("") +
                  "</tr>\n",
              )
              .join("") +
            "</tbody>\n</table>\n</details>\n"
          : "") +
        "</div>\n"
      );
    })
    .join("");
  const tag = language.tag;
  return (
    `<section id="consentry" class="consentry" aria-labelledby="consentry-title" data-revision="${site.revision}"` +
    attribute("lang", tag) +
    ` dir="${RTL.includes(primary(tag)) ? "rtl" : "ltr"}"` +
    attribute("data-settings-label", settingsLink) +
    attribute("data-consent-id", state.id) +
    attribute("data-decided-at", state.time) +
    (hidden ? " hidden>\n" : ">\n") +
    '<form class="consentry-form" method="post" action="">\n' +
    '<input type="hidden" name="return_to" value="/">\n' +
    `<input type="hidden" name="revision" value="${site.revision}">\n` +
    `<h2 id="consentry-title">${escape(open ? settingsTitle : title)}</h2>\n` +
    `<p>${escape(body)} <a href="${escape(site.privacy)}">${escape(privacyLink)}</a></p>\n` +
    (site.gpc ? `<p class="consentry-gpc" data-gpc>${escape(gpcHonoured)}</p>\n` : "") +
    '<div class="consentry-actions">\n' +
    button("accept_all", acceptAll) +
    button("reject_all", rejectAll) +
    `</div>\n<details class="consentry-customize"${open ? " open" : ""}>\n<summary>${escape(customize)}</summary>\n` +
    `<fieldset>\n<legend class="consentry-visually-hidden">${escape(customize)}</legend>\n` +
    switches +
    "</fieldset>\n" +
    button("save", save) +
    "</details>\n</form>\n</section>\n"
  );
};

// Every switch: `[id, locked]`, categories and their services.
const switches = (site) =>
  site.categories.flatMap(({ id, locked, services }) => [
    [id, locked],
    ...services.map((service) => [id + ":" + service.id, locked]),
  ]);

// What a decision grants (`{action, granted}` as the banner posts it), the way the layer
// applies it: every locked switch on, then "Accept all" all but what Global Privacy
// Control denies (when it is on), "Reject all" nothing, "Save" exactly what is ticked; a
// service counts with its category, a category with any of its services.
export const grant = (site, { action, granted: ticked }) => {
  const picked = switches(site).map(([id, locked]) => [
    id,
    locked ||
      (action == "accept_all"
        ? !(site.gpc && site.gpcDenies.includes(categoryOf(id)))
        : action != "reject_all" && array(ticked).includes(id)),
  ]);
  const on = (test) => picked.some(([id, yes]) => yes && test(id));
  return picked
    .filter(([id, yes]) => {
      const category = categoryOf(id);
      const service = (other) => other != category && categoryOf(other) == category;
      return yes || (id == category ? on(service) : on((other) => other == category) && !on(service));
    })
    .map(([id]) => id);
};

// The `document.cookie` assignments that delete the declared cookies of every category
// and service not `granted` (never a locked one's), among the cookies `names`: by exact
// name (seen or not) or every name with the prefix, with their path, host-only and, when
// declared with one, with their domain.
export const deletions = (site, granted, names) => {
  const out = [];
  const not = (id) => !granted.includes(id);
  const remove = (declared) =>
    declared.forEach(({ name, prefix, domain, path }) => {
      if (name)
        for (const found of prefix ? names.filter((n) => n.startsWith(name)) : [name]) {
          const deletion = `${found}=;max-age=0;path=${path}`;
          out.push(deletion);
          if (domain) out.push(deletion + ";domain=" + domain);
        }
    });
  for (const category of site.categories)
    if (!category.locked) {
      if (not(category.id)) remove(category.cookies);
      for (const service of category.services)
        if (not(category.id) || not(category.id + ":" + service.id)) remove(service.cookies);
    }
  return out;
};

// Starts static mode: renders the banner at the end of the body (hidden once the visitor
// decided under this revision, as a server renders it) and deletes the declared cookies
// of whatever is not granted. The site's answers to the loader, or `undefined`.
export const start = () => {
  const element = document.getElementById("consentry-config");
  if (!element)
    return error(
      'no <script type="application/json" id="consentry-config"> on this page; the banner cannot start',
    );
  const site = configure(element.text);
  if (!site) return;
  site.gpc ||= !!navigator.globalPrivacyControl;
  const { languages } = site;
  let current = pick(languages, [document.documentElement.lang, ...navigator.languages]) ?? 0;
  const stored = jar().find(([name]) => name == CHOICE_COOKIE);
  const choice = stored && parseChoice(stored[1]);
  const decided = choice?.revision == site.revision;
  const state = {
    id: choice?.id,
    time: decided ? choice.time : null,
    granted: decided ? choice.granted : [],
  };
  const set = (cookie) => (document.cookie = cookie);
  const clear = () =>
    deletions(
      site,
      state.granted,
      jar().map(([name]) => name),
    ).forEach(set);
  const insert = (open, hidden) => {
    const template = document.createElement("template");
    template.innerHTML = render(site, state, languages[current], open, hidden);
    return template.content.firstElementChild;
  };
  document.body.append(insert(decided, decided));
  clear();
  return {
    // A decision as the banner posts it, granted ([`grant`]) and stored in the choice
    // cookie (with the consent id, made now on the browser's first decision): the answer
    // a server gives (`{granted, id, decidedAt}`).
    decide: (body) => {
      state.granted = grant(site, body);
      state.id ??= [...crypto.getRandomValues(new Uint8Array(16))]
        .map((byte) => (byte + 256).toString(16).slice(1))
        .join("");
      state.time = Math.floor(Date.now() / 1000);
      set(
        `${CHOICE_COOKIE}=${["3", site.revision, state.time, state.id, ...state.granted].join(".")}` +
          `;path=/;max-age=15724800;samesite=lax${location.protocol == "https:" ? ";secure" : ""}`,
      );
      clear();
      return { granted: state.granted, id: state.id, decidedAt: state.time };
    },
    // Forgets the decision (`window.consentry.reset()`): the choice cookie and the
    // declared cookies of every category.
    forget: () => {
      set(CHOICE_COOKIE + "=;max-age=0;path=/");
      state.granted = [];
      clear();
    },
    // Shows the banner in another of its languages, rendered again where it was; `false`
    // when it has no such language.
    language: (tag) => {
      const index = pick(languages, [tag]);
      if (index == null) return false;
      current = index;
      const section = document.getElementById("consentry");
      if (section) {
        // As it was: in the settings dialog or not, hidden or not, showing the choice.
        const now = window.consentry.get();
        state.granted = now.granted;
        section.replaceWith(insert(!!section.closest("dialog") || now.decided, section.hidden));
      }
      const control = document.querySelector(".consentry-open");
      if (control) control.textContent = languages[current].texts[7];
      return true;
    },
  };
};
