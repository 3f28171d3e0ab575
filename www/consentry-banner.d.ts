/** The visitor's consent as the banner knows it. */
export interface ConsentryState {
  /** Whether the visitor made a choice under the current policy revision. */
  decided: boolean;
  /** Granted category ids, `necessary` included. */
  granted: string[];
  /** The policy revision. */
  revision: number;
  /** Whether Global Privacy Control is on. */
  gpc: boolean;
}

/** `window.consentry`, defined once the banner has started. */
export interface Consentry {
  /** Opens the settings dialog (the same as any `[data-consent-open]` element). */
  open(): void;
  /** The current state. */
  get(): ConsentryState;
  /** Whether `category` is granted. */
  allows(category: string): boolean;
}

declare global {
  interface Window {
    consentry?: Consentry;
  }
  interface DocumentEventMap {
    /** Fired on `document` after every decision; `detail` is the new state. */
    "consentry:change": CustomEvent<ConsentryState>;
  }
}

export {};
