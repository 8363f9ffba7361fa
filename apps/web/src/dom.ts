/** A few lines instead of a framework: build an element with attributes, handlers and children. */
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

/** Replaces the page's content, and moves the focus to its heading for keyboard and screen-reader users. */
export function show(root: HTMLElement, ...children: Child[]): void {
  root.replaceChildren(...children.filter((c): c is Node | string => Boolean(c)));
  root.querySelector<HTMLElement>('h1, h2')?.focus();
}

/** A live region for errors: one sentence, announced when it changes. */
export function errorBox(): HTMLParagraphElement & { say(text: string | null): void } {
  const box = h('p', { class: 'error', role: 'alert' }) as HTMLParagraphElement & { say(text: string | null): void };
  box.say = (text) => {
    box.textContent = text ?? '';
  };
  return box;
}
