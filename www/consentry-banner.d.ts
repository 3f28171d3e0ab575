/** The visitor's consent as the banner knows it. */
export interface ConsentryState {
  /** Whether the visitor made a choice under the current policy revision. */
  decided: boolean;
  /** Granted category ids, `necessary` included; services as `<category>:<service>`. */
  granted: string[];
  /** The policy revision. */
  revision: number;
  /** Whether Global Privacy Control is on. */
  gpc: boolean;
  /** The consent id (32 hex digits), once the visitor decided. */
  id: string | null;
  /** When the visitor decided, in milliseconds since 1970 (`new Date(decidedAt)`). */
  decidedAt: number | null;
  /** The language the banner shows (a BCP 47 tag). */
  language: string | null;
}

/** The detail of `consentry:change`. */
export interface ConsentryChange extends ConsentryState {
  /** The ids granted or withdrawn by the decision. */
  changed: string[];
}

/** The detail of `consentry:show` and `consentry:hide`. */
export interface ConsentryView {
  view: "banner" | "settings";
}

/** `window.consentry`: `ready` as soon as the module runs, the methods once it started. */
export interface Consentry {
  /** Resolves with the state once the banner started. */
  ready: Promise<ConsentryState>;
  /** Opens the settings dialog (the same as any `[data-consent-open]` element). */
  open(): boolean;
  /** The current state. */
  get(): ConsentryState;
  /** Whether a category (or a service, `<category>:<service>`) is granted. */
  allows(category: string): boolean;
  /**
   * Records a decision: `"all"` (or nothing) accepts all, a list (or one id) grants exactly
   * those (necessary always), `[]` rejects all. Resolves with the new state; rejects, and
   * records nothing, for any other argument.
   */
  accept(categories?: "all" | string | string[]): Promise<ConsentryState>;
  /**
   * Forgets the decision and reloads. Static mode: the choice and every declared cookie
   * are deleted and the banner asks again. With a server: every optional category is
   * withdrawn through the endpoint, which records it.
   */
  reset(): Promise<void>;
  /** Shows the first layer. */
  show(): boolean;
  /** Hides the first layer; `false` when it was not shown. */
  hide(): boolean;
  /** Shows the banner in another of its languages (static mode); `false` if it has none such. */
  language(tag: string): boolean;
}

declare global {
  interface Window {
    consentry?: Consentry;
  }
  interface DocumentEventMap {
    /** Every page load, once the banner started. */
    "consentry:ready": CustomEvent<ConsentryState>;
    /** Every page load with a decision, and after each decision. */
    "consentry:consent": CustomEvent<ConsentryState>;
    /** After each decision. */
    "consentry:change": CustomEvent<ConsentryChange>;
    /** The first layer or the settings dialog opened. */
    "consentry:show": CustomEvent<ConsentryView>;
    /** The first layer or the settings dialog closed. */
    "consentry:hide": CustomEvent<ConsentryView>;
    /** After `consentry.language()` switched. */
    "consentry:language": CustomEvent<ConsentryState>;
  }
}

export {};
