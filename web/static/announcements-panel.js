// The secretary's announcements panel: create, edit, schedule and remove what the public
// board shows. Every title and text is set with textContent; pictures are checked by the
// bridge (type by content, 5 MB at most) and shown as the bridge re-encoded them.

import {
  listAnnouncements, saveAnnouncement, removeAnnouncement, announcementImageUrl,
} from "./protocol.js";
import { t, lang } from "./i18n.js";
import { formatWhen, toInputValue, fromInputValue } from "./when.js";
import { refusalText } from "./schedule-panel.js";

const REFRESH_MS = 60000;
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node[name] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

const initial = Object.freeze({ items: [], editing: null, error: null, notice: null, loaded: false });

function reduce(s, event) {
  switch (event.type) {
    case "loaded": return { ...s, items: event.items, loaded: true };
    case "edit": return { ...s, editing: event.id, error: null, notice: null };
    case "saved": return { ...s, editing: null, error: null, notice: t("panel.saved") };
    case "failed": return { ...s, error: event.text, notice: null };
    default: return s;
  }
}

function when(item) {
  const from = item.starts_at ? formatWhen(item.starts_at, lang) : "";
  const until = item.ends_at ? formatWhen(item.ends_at, lang) : "";
  return [from && `${t("ann.starts")} ${from}`, until && `${t("ann.ends")} ${until}`].filter(Boolean).join(" · ");
}

/** Mount the panel into `section` (an empty <section id="announcements-panel">). */
export function mountAnnouncementsPanel(section, { key }) {
  let state = initial;
  section.replaceChildren();
  section.classList.add("panel", "announcements-panel");
  const list = el("ul", { className: "panel-list" });
  const empty = el("p", { className: "empty", text: t("ann.empty") });
  const error = el("p", { className: "error", role: "alert", hidden: true });
  const notice = el("p", { className: "panel-notice", role: "status", hidden: true });
  section.append(el("h2", { text: t("ann.heading") }), list, empty, itemForm(null), error, notice);

  function dispatch(event) {
    state = reduce(state, event);
    render();
  }

  async function refresh() {
    try {
      dispatch({ type: "loaded", items: (await listAnnouncements(key)).announcements });
    } catch (err) {
      dispatch({ type: "failed", text: refusalText(err) });
    }
  }

  async function act(work) {
    try {
      await work();
      dispatch({ type: "saved" });
    } catch (err) {
      dispatch({ type: "failed", text: refusalText(err) });
    }
    await refresh();
  }

  function itemForm(item) {
    const title = el("input", { type: "text", maxLength: 120, required: true, className: "f-title", value: item?.title ?? "" });
    const text = el("textarea", { rows: 4, maxLength: 2000, className: "f-text", value: item?.text ?? "" });
    const image = el("input", { type: "file", accept: "image/jpeg,image/png,image/gif,image/webp", className: "f-image" });
    const starts = el("input", { type: "datetime-local", className: "f-starts", value: toInputValue(item?.starts_at) });
    const ends = el("input", { type: "datetime-local", className: "f-ends", value: toInputValue(item?.ends_at) });
    const save = el("button", { type: "submit", className: "btn go small", text: item ? t("panel.save") : t("ann.add") });
    const buttons = el("div", { className: "panel-buttons" }, [save]);
    const dropImage = el("input", { type: "checkbox", className: "f-remove-image" });
    const form = el("form", { className: "panel-form" }, [
      el("label", {}, [el("span", { text: t("ann.title") }), title]),
      el("label", {}, [el("span", { text: t("ann.text") }), text]),
      el("label", {}, [el("span", { text: t("ann.image") }), image]),
      el("label", {}, [el("span", { text: t("ann.starts") }), starts]),
      el("label", {}, [el("span", { text: t("ann.ends") }), ends]),
    ]);
    if (item?.image) form.append(el("label", { className: "inline" }, [dropImage, el("span", { text: t("ann.removeImage") })]));
    form.append(buttons);
    if (item) {
      const cancel = el("button", { type: "button", className: "btn small", text: t("panel.cancel") });
      cancel.addEventListener("click", () => dispatch({ type: "edit", id: null }));
      buttons.append(cancel);
    }
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const file = image.files?.[0];
      // Said at once rather than after uploading 20 MB; the bridge checks again anyway.
      if (file && file.size > MAX_IMAGE_BYTES) {
        dispatch({ type: "failed", text: t("err.too-large") });
        return;
      }
      const from = fromInputValue(starts.value);
      const until = fromInputValue(ends.value);
      act(async () => {
        await saveAnnouncement(key, item?.id ?? null, {
          title: title.value, text: text.value, image: file,
          starts_at: from === null ? "" : from, ends_at: until === null ? "" : until,
          remove_image: dropImage.checked,
        });
        if (!item) form.reset();
      });
    });
    return form;
  }

  function row(item) {
    if (state.editing === item.id) return el("li", { dataset: { id: item.id } }, [itemForm(item)]);
    const edit = el("button", { type: "button", className: "btn small", text: t("panel.edit") });
    const remove = el("button", { type: "button", className: "btn halt small", text: t("panel.remove") });
    edit.addEventListener("click", () => dispatch({ type: "edit", id: item.id }));
    remove.addEventListener("click", () => act(() => removeAnnouncement(key, item.id)));
    const what = el("div", { className: "panel-what" }, [
      el("strong", { className: "p-title", text: item.title }),
      el("span", { className: "p-text", text: item.text }),
      el("span", { className: "p-when", text: when(item) }),
      el("span", { className: "p-showing", text: item.showing ? t("ann.showing") : t("ann.notShowing") }),
    ]);
    if (item.image) what.prepend(el("img", { className: "p-image", alt: "", src: announcementImageUrl(item.image, key) }));
    return el("li", { className: "panel-item", dataset: { id: item.id, showing: String(Boolean(item.showing)) } }, [
      what, el("div", { className: "panel-buttons" }, [edit, remove]),
    ]);
  }

  function render() {
    list.replaceChildren(...state.items.map(row));
    empty.hidden = !state.loaded || state.items.length > 0;
    error.textContent = state.error || "";
    error.hidden = !state.error;
    notice.textContent = state.notice || "";
    notice.hidden = !state.notice;
    section.dataset.count = String(state.items.length);
  }

  render();
  refresh();
  setInterval(refresh, REFRESH_MS);
  return { refresh };
}
