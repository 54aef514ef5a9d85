// A TV remote's D-pad on a web page: the arrow keys move the focus to the nearest control
// in that direction, OK activates it, Back closes what is open. No mouse is ever needed.

const BACK_KEYS = new Set(["Escape", "BrowserBack", "GoBack", "Back"]);
// Remotes that send only key codes: Android TV's DPAD_CENTER (23), webOS Back (461),
// Tizen Back (10009).
const OK_CODES = new Set([13, 23]);
const BACK_CODES = new Set([461, 10009]);
const DIRECTIONS = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
const FOCUSABLE = "button, input, select, textarea, [tabindex]:not([tabindex='-1'])";

function isText(el) {
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement;
}

export function isBack(ev) {
  if (BACK_KEYS.has(ev.key) || BACK_CODES.has(ev.keyCode)) return true;
  // In a text field Backspace deletes a letter; elsewhere it is the remote's Back.
  return ev.key === "Backspace" && !isText(document.activeElement);
}

export function isOk(ev) {
  return ["Enter", "NumpadEnter", "Select", " "].includes(ev.key) || OK_CODES.has(ev.keyCode);
}

/** The controls a user can reach now inside `scope`: shown and enabled. */
export function reachable(scope) {
  return [...scope.querySelectorAll(FOCUSABLE)].filter(
    (el) => !el.disabled && el.getClientRects().length > 0 && !el.closest("[hidden], [inert]"),
  );
}

function centre(el) {
  const r = el.getBoundingClientRect();
  return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
}

/** The control nearest to `from` in direction [dx, dy], favouring ones straight ahead. */
export function nearest(from, candidates, [dx, dy]) {
  const a = centre(from);
  let best = null;
  let bestScore = Infinity;
  for (const el of candidates) {
    if (el === from) continue;
    const b = centre(el);
    const along = (b.x - a.x) * dx + (b.y - a.y) * dy;
    if (along <= 1) continue;
    const across = Math.abs((b.x - a.x) * dy) + Math.abs((b.y - a.y) * dx);
    const score = along + 2 * across;
    if (score < bestScore) { bestScore = score; best = el; }
  }
  return best;
}

/**
 * Drive the page with a remote. `scope()` names the element the focus must stay in (an
 * open dialog, else the page's controls); `onBack()` is called for Back and returns whether
 * it did something (else the key is left to the browser).
 */
export function installRemote({ scope, onBack }) {
  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented) return;
    if (isBack(ev)) {
      if (onBack()) ev.preventDefault();
      return;
    }
    const active = document.activeElement;
    const root = scope();
    if (!root) return;
    const inside = active && active !== document.body && root.contains(active);
    const direction = DIRECTIONS[ev.key];
    if (direction) {
      // Left and right move the caret within a text field that has text to move through.
      if (isText(active) && direction[1] === 0 && active.value) {
        const atEdge = direction[0] < 0 ? active.selectionStart === 0 : active.selectionEnd === active.value.length;
        if (!atEdge) return;
      }
      const controls = reachable(root);
      const next = inside ? nearest(active, controls, direction) : controls[0];
      if (next) { next.focus(); ev.preventDefault(); }
      return;
    }
    // OK on a remote that reports only a key code: buttons take Enter by themselves.
    if (inside && OK_CODES.has(ev.keyCode) && ev.key !== "Enter" && !isText(active)) {
      active.click();
      ev.preventDefault();
    }
  });
}

/** Put the focus on `preferred` (or the first control) unless it already rests inside `root`. */
export function keepFocusIn(root, preferred) {
  if (!root) return;
  const active = document.activeElement;
  const controls = reachable(root);
  if (active && active !== document.body && controls.includes(active)) return;
  const target = preferred && controls.includes(preferred) ? preferred : controls[0];
  target?.focus({ preventScroll: true });
}
