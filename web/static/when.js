// Dates and times as the commune reads them: always Vietnam time (UTC+7, no daylight
// saving), whatever time zone the screen's own box was set up with.

const ZONE = "Asia/Ho_Chi_Minh";
const OFFSET = "+07:00";

/** "Thứ Hai, 30/11/2026 14:00" (or the English form) for Unix seconds `at`. */
export function formatWhen(at, lang = "vi") {
  const locale = lang === "en" ? "en-GB" : "vi-VN";
  return new Date(at * 1000).toLocaleString(locale, {
    timeZone: ZONE, weekday: "long", day: "2-digit", month: "2-digit", year: "numeric",
    hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

/** The value of an <input type="datetime-local"> showing Unix seconds `at` in Vietnam time. */
export function toInputValue(at) {
  if (typeof at !== "number") return "";
  const shifted = new Date(at * 1000 + 7 * 3600 * 1000); // read back with the UTC getters
  return shifted.toISOString().slice(0, 16);
}

/** Unix seconds for a datetime-local value typed in Vietnam time; null when empty or bad. */
export function fromInputValue(value) {
  if (!value) return null;
  const seconds = value.length === 16 ? ":00" : "";
  const ms = Date.parse(value + seconds + OFFSET);
  return Number.isFinite(ms) ? ms / 1000 : null;
}
