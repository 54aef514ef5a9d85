// Every string the pages show, in Vietnamese (the default) and English (?lang=en).
// Pages look strings up here by key; nothing user-visible is written anywhere else.

import { pageParams } from "./protocol.js";

const STRINGS = {
  // chair console
  "chair.title": { vi: "Bàn điều khiển chủ tọa", en: "Chair console" },
  "chair.camera": { vi: "Máy quay", en: "Camera" },
  "chair.microphone": { vi: "Micrô", en: "Microphone" },
  "chair.start": { vi: "Bắt đầu phát sóng", en: "Start broadcast" },
  "chair.stop": { vi: "Dừng phát sóng", en: "Stop broadcast" },
  "slides.share": { vi: "Chia sẻ màn hình", en: "Share screen" },
  "slides.stop": { vi: "Dừng chia sẻ", en: "Stop sharing" },
  "slides.lost": { vi: "Chia sẻ màn hình bị ngắt. Bấm “Chia sẻ màn hình” để chia sẻ lại.", en: "Screen sharing was cut. Press “Share screen” to share again." },
  "chair.halls": { vi: "Các nhà văn hóa thôn", en: "Village halls" },
  "chair.noHalls": { vi: "Chưa có thông tin về các thôn.", en: "No hall information yet." },
  "chair.device": { vi: "Thiết bị {n}", en: "Device {n}" },
  "chair.replaced": {
    vi: "Một thiết bị khác đã nhận phát sóng. Bấm “Bắt đầu phát sóng” để phát lại từ máy này.",
    en: "Another device took over the broadcast. Press “Start broadcast” to broadcast from this one again.",
  },
  "live.off": { vi: "Chưa phát sóng", en: "Not live" },
  "live.starting": { vi: "Đang kết nối…", en: "Connecting…" },
  "live.live": { vi: "Đang phát sóng", en: "Live" },
  "live.reconnecting": { vi: "Đang kết nối lại…", en: "Reconnecting…" },
  "socket.connecting": { vi: "Máy chủ: đang kết nối…", en: "Server: connecting…" },
  "socket.open": { vi: "Máy chủ: đã kết nối", en: "Server: connected" },
  "socket.closed": { vi: "Máy chủ: mất kết nối, đang thử lại…", en: "Server: connection lost, retrying…" },
  "socket.refused": { vi: "Máy chủ: đã có quá nhiều trang mở bằng mã này. Hãy đóng bớt một trang.",
    en: "Server: too many pages are open with this key. Close one." },

  // hall states, as the server names them
  "hall.offline": { vi: "Chưa kết nối", en: "Offline" },
  "hall.connected": { vi: "Đã kết nối", en: "Connected" },
  "hall.watching": { vi: "Đang xem", en: "Watching" },
  "hall.lost": { vi: "Mất kết nối", en: "Lost" },

  // what a hall's TV really shows, from its reports (rooms/screen.py)
  "screen.frozen": { vi: "Hình bị đứng", en: "Picture frozen" },
  "screen.starting": { vi: "Đang mở hình…", en: "Picture starting…" },
  "screen.off-air": { vi: "Sẵn sàng, chờ phát sóng", en: "Ready, waiting for the broadcast" },
  "screen.unknown": { vi: "Đã nối, chưa báo hình", en: "Connected, no report yet" },
  "screen.listening": { vi: "Đang nghe (không có hình)", en: "Listening (no picture)" },
  "screen.silent": { vi: "Không có tiếng", en: "No sound" },
  "warn.frozen": { vi: "Hình ở thôn này đứng hơn 5 giây.", en: "The picture here has been frozen for over 5 s." },
  "warn.silent": { vi: "Thôn này không nghe thấy tiếng hơn 5 giây.", en: "No sound here for over 5 s." },
  "link.good": { vi: "Đường truyền tốt", en: "Good link" },
  "link.fair": { vi: "Đường truyền trung bình", en: "Fair link" },
  "link.poor": { vi: "Đường truyền kém", en: "Poor link" },
  "link.fps": { vi: "{fps} hình/giây", en: "{fps} fps" },
  "link.loss": { vi: "mất gói {loss}%", en: "loss {loss}%" },
  "link.jitter": { vi: "dao động {ms} ms", en: "jitter {ms} ms" },
  "link.rtt": { vi: "trễ {ms} ms", en: "RTT {ms} ms" },
  "link.rate": { vi: "{mbps} Mbps", en: "{mbps} Mbps" },
  "link.level": { vi: "âm lượng {level}%", en: "sound {level}%" },
  "rendition.full": { vi: "Hình đầy đủ", en: "Full picture" },
  "rendition.light": { vi: "Hình nhẹ (mạng yếu)", en: "Light picture (weak link)" },

  // TV page
  "tv.title": { vi: "Phòng họp trực tuyến", en: "Online meeting" },
  "tv.connecting": { vi: "Đang kết nối…", en: "Connecting…" },
  "tv.waiting": { vi: "Đang chờ phòng họp xã…", en: "Waiting for the commune room…" },
  "tv.audio": { vi: "Đang phát âm thanh từ phòng họp xã (không có hình)", en: "Sound from the commune room (no picture)" },
  "tv.reconnecting": { vi: "Đang kết nối lại…", en: "Reconnecting…" },
  "tv.error": { vi: "Không xem được buổi họp", en: "Cannot show the meeting" },
  "tv.retrying": { vi: "Đang tự động thử lại…", en: "Retrying automatically…" },
  "tv.sound": { vi: "Nhấn OK để bật tiếng", en: "Press OK for sound" },

  // the floor, on the hall TV
  "floor.raise": { vi: "Giơ tay phát biểu", en: "Raise hand" },
  "floor.lower": { vi: "Hạ tay", en: "Lower hand" },
  "floor.details": { vi: "Giơ tay, ghi tên và nội dung", en: "Raise hand with name and topic" },
  "floor.place": { vi: "Đã giơ tay — thứ tự {n}", en: "Hand raised — number {n}" },
  "floor.yourTurn": { vi: "Đến lượt thôn mình", en: "Your turn" },
  "floor.end": { vi: "Kết thúc phát biểu", en: "End the floor" },
  "floor.consent": { vi: "Đồng ý ghi hình phần phát biểu?", en: "Agree to have this question recorded?" },
  "floor.yes": { vi: "Có", en: "Yes" },
  "floor.no": { vi: "Không", en: "No" },
  "floor.name": { vi: "Tên người phát biểu", en: "Speaker's name" },
  "floor.namePlaceholder": { vi: "Người dân", en: "Resident" },
  "floor.topic": { vi: "Nội dung", en: "Topic" },
  "floor.send": { vi: "Giơ tay", en: "Raise hand" },
  "floor.cancel": { vi: "Hủy", en: "Cancel" },
  "floor.backHint": { vi: "Nút Quay lại: đóng", en: "Back button: close" },
  "floor.muted": { vi: "Chủ tọa đã tắt tiếng thôn mình", en: "The chair muted this hall" },
  "floor.speaking": { vi: "Đang phát biểu", en: "Speaking" },
  "pub.starting": { vi: "Máy quay của thôn: đang kết nối…", en: "This hall's camera: connecting…" },
  "pub.retrying": { vi: "Máy quay của thôn: đang thử lại…", en: "This hall's camera: retrying…" },
  "pub.replaced": { vi: "Một TV khác của thôn đang gửi hình và tiếng; TV này chỉ xem.",
    en: "Another TV of this hall sends the camera and sound; this one only watches." },
  "pub.media": { vi: "Không mở được máy quay hoặc micrô của thôn.", en: "Cannot open this hall's camera or microphone." },

  // the floor, on the chair console
  "meeting.open": { vi: "Bắt đầu cuộc họp", en: "Open the meeting" },
  "meeting.close": { vi: "Kết thúc cuộc họp", en: "Close the meeting" },
  "meeting.none": { vi: "Chưa có cuộc họp", en: "No meeting open" },
  "meeting.since": { vi: "Cuộc họp từ {time}", en: "Meeting since {time}" },
  "chair.floor": { vi: "Người đang phát biểu", en: "Speaking now" },
  "chair.noFloor": { vi: "Chưa có ai phát biểu.", en: "Nobody has the floor." },
  "chair.queue": { vi: "Danh sách giơ tay", en: "Raised hands" },
  "chair.emptyQueue": { vi: "Chưa có ai giơ tay.", en: "No hands raised." },
  "chair.grant": { vi: "Mời phát biểu", en: "Give the floor" },
  "chair.withdraw": { vi: "Hủy", en: "Withdraw" },
  "chair.up": { vi: "Chuyển lên", en: "Move up" },
  "chair.down": { vi: "Chuyển xuống", en: "Move down" },
  "chair.edit": { vi: "Sửa", en: "Edit" },
  "chair.save": { vi: "Lưu", en: "Save" },
  "chair.cancel": { vi: "Thôi", en: "Cancel" },
  "chair.end": { vi: "Kết thúc phát biểu", en: "End the floor" },
  "chair.mute": { vi: "Tắt tiếng", en: "Mute" },
  "chair.unmute": { vi: "Bật tiếng", en: "Unmute" },
  "chair.extend": { vi: "+1 phút", en: "+1 min" },
  "chair.shortcuts": { vi: "Phím tắt: N — mời người tiếp theo · E — kết thúc phát biểu",
    en: "Shortcuts: N — give the floor to the next · E — end the floor" },
  "chair.cue": { vi: "{hall} giơ tay", en: "{hall} raised a hand" },
  "chair.waited": { vi: "chờ {time}", en: "waiting {time}" },
  "chair.left": { vi: "còn {time}", en: "{time} left" },
  "chair.over": { vi: "quá giờ {time}", en: "over by {time}" },
  "chair.offline": { vi: "thôn mất kết nối", en: "hall disconnected" },
  "chair.gridWaiting": { vi: "Chưa có hình", en: "No picture" },
  "consent.true": { vi: "Đồng ý ghi hình", en: "Agreed to recording" },
  "consent.false": { vi: "Không đồng ý ghi hình", en: "Declined recording" },
  "consent.null": { vi: "Chưa trả lời việc ghi hình", en: "Recording not answered yet" },
  "hall.speaking": { vi: "Đang phát biểu", en: "Speaking" },
  "hall.muted": { vi: "Đã tắt tiếng", en: "Muted" },
  "hall.raised": { vi: "Đang giơ tay", en: "Hand raised" },

  // errors the bridge answers on the socket (docs/protocol.md)
  "wire.forbidden": { vi: "Không được phép làm việc này.", en: "Not allowed." },
  "wire.not-found": { vi: "Mục này không còn nữa.", en: "That entry is gone." },
  "wire.refused": { vi: "Không thực hiện được.", en: "Not possible now." },
  "wire.bad-field": { vi: "Thông tin không hợp lệ.", en: "Invalid input." },
  "wire.other": { vi: "Máy chủ từ chối.", en: "The server refused." },

  // errors, by the server's X-Error-Code or the browser's error name
  "err.missing-key": { vi: "Đường liên kết thiếu mã truy cập. Hãy mở đúng đường liên kết được cấp.",
    en: "The link has no access key. Open the link you were given." },
  "err.wrong-key": { vi: "Mã truy cập không đúng hoặc không có quyền làm việc này.",
    en: "The access key is wrong or not allowed to do this." },
  "err.bad-sdp": { vi: "Trình duyệt và máy chủ không thỏa thuận được kết nối.",
    en: "The browser and the server could not agree on a connection." },
  "err.codec-unsupported": { vi: "Định dạng hình hoặc tiếng không được hỗ trợ.",
    en: "This video or audio format is not supported." },
  "err.bad-content-type": { vi: "Lỗi giao tiếp với máy chủ.", en: "Communication error with the server." },
  "err.not-found": { vi: "Không tìm thấy phiên kết nối.", en: "Session not found." },
  "err.busy": { vi: "Máy chủ đang quá tải.", en: "The server is busy." },
  "err.network": { vi: "Không liên lạc được với máy chủ.", en: "Cannot reach the server." },
  "err.other": { vi: "Máy chủ báo lỗi {status}.", en: "The server answered with error {status}." },
  "err.NotAllowedError": {
    vi: "Trình duyệt không được phép dùng máy quay và micrô. Hãy cho phép rồi tải lại trang.",
    en: "The browser may not use the camera and microphone. Allow it, then reload the page." },
  "err.NotFoundError": { vi: "Không tìm thấy máy quay hoặc micrô.", en: "No camera or microphone found." },
  "err.NotReadableError": { vi: "Máy quay hoặc micrô đang bị ứng dụng khác sử dụng.",
    en: "The camera or microphone is in use by another application." },
  "err.OverconstrainedError": { vi: "Thiết bị đã chọn không còn dùng được.",
    en: "The selected device is no longer available." },
  "err.insecure": { vi: "Phải mở trang qua https để dùng máy quay và micrô.",
    en: "The page must be opened over https to use the camera and microphone." },
  "err.media": { vi: "Không mở được máy quay hoặc micrô.", en: "Could not open the camera or microphone." },
  "err.not-an-image": { vi: "Tệp này không phải là ảnh (JPEG, PNG, GIF hoặc WebP).",
    en: "This file is not a picture (JPEG, PNG, GIF or WebP)." },
  "err.too-large": { vi: "Ảnh quá lớn: tối đa 5 MB.", en: "The picture is too large: 5 MB at most." },
  "err.bad-image": { vi: "Ảnh bị hỏng, không đọc được.", en: "The picture is damaged and cannot be read." },
  "err.bad-field": { vi: "Thông tin chưa hợp lệ: {detail}", en: "Invalid input: {detail}" },

  "secretary.title": { vi: "Trang thư ký", en: "Secretary" },
  // the meeting schedule (chair console, secretary page, hall TVs)
  "next.title": { vi: "Cuộc họp tiếp theo", en: "Next meeting" },
  "schedule.heading": { vi: "Lịch họp", en: "Meeting schedule" },
  "schedule.title": { vi: "Tên cuộc họp", en: "Meeting title" },
  "schedule.when": { vi: "Ngày giờ", en: "Date and time" },
  "schedule.agenda": { vi: "Chương trình họp", en: "Agenda" },
  "schedule.add": { vi: "Thêm lịch họp", en: "Add a meeting" },
  "schedule.empty": { vi: "Chưa có lịch họp.", en: "No meetings planned." },
  "schedule.due": { vi: "Đến giờ họp", en: "Time for the meeting" },
  "schedule.start": { vi: "Bắt đầu cuộc họp", en: "Start the meeting" },
  "panel.save": { vi: "Lưu", en: "Save" },
  "panel.edit": { vi: "Sửa", en: "Edit" },
  "panel.remove": { vi: "Xóa", en: "Remove" },
  "panel.cancel": { vi: "Thôi", en: "Cancel" },
  "panel.saved": { vi: "Đã lưu.", en: "Saved." },

  // the board's announcements (secretary page)
  "ann.heading": { vi: "Thông báo trên bảng tin", en: "Board announcements" },
  "ann.title": { vi: "Tiêu đề", en: "Title" },
  "ann.text": { vi: "Nội dung", en: "Text" },
  "ann.image": { vi: "Hình ảnh (không bắt buộc, tối đa 5 MB)", en: "Picture (optional, 5 MB at most)" },
  "ann.starts": { vi: "Hiện từ", en: "Show from" },
  "ann.ends": { vi: "Hiện đến", en: "Show until" },
  "ann.add": { vi: "Thêm thông báo", en: "Add an announcement" },
  "ann.removeImage": { vi: "Bỏ hình", en: "Remove the picture" },
  "ann.empty": { vi: "Chưa có thông báo.", en: "No announcements." },
  "ann.showing": { vi: "Đang hiện trên bảng tin", en: "On the board now" },
  "ann.notShowing": { vi: "Không hiện lúc này", en: "Not on the board now" },

  // the public board: Vietnamese first, English beneath
  "board.title": { vi: "Bảng tin điện tử", en: "Public bulletin board" },
  "board.live": { vi: "Trực tiếp", en: "Live" },
  "board.speaking": { vi: "Đang phát biểu", en: "Speaking" },
  "board.chair": { vi: "Chủ tọa cuộc họp", en: "The chair" },
  "board.announcement": { vi: "Thông báo", en: "Announcement" },
  "board.upcoming": { vi: "Lịch họp sắp tới", en: "Upcoming meetings" },
  "board.answers": { vi: "Ý kiến người dân đã được trả lời", en: "Citizens' questions answered" },
  "board.answer": { vi: "Trả lời", en: "Answer" },
  "board.empty": { vi: "Chưa có thông báo mới", en: "No news yet" },
  "board.connecting": { vi: "Đang kết nối…", en: "Connecting…" },

  // recording (web/static/recording.js)
  "rec.notice": { vi: "Cuộc họp đang được ghi hình", en: "This meeting is being recorded" },
  "rec.start": { vi: "Bắt đầu ghi hình", en: "Start recording" },
  "rec.stop": { vi: "Dừng ghi hình", en: "Stop recording" },
  "rec.failed.disk-full": { vi: "Ghi hình đã dừng: ổ đĩa đầy. Cuộc họp vẫn tiếp tục.",
    en: "Recording stopped: the disk is full. The meeting goes on." },
  "rec.failed.error": { vi: "Ghi hình đã dừng vì lỗi ghi tệp. Cuộc họp vẫn tiếp tục.",
    en: "Recording stopped: the files could not be written. The meeting goes on." },
  "rec.failed.interrupted": { vi: "Bản ghi trước bị gián đoạn khi máy chủ khởi động lại.",
    en: "The last recording was interrupted when the bridge restarted." },

  // the secretary page and the question register (the record)
  "sec.title": { vi: "Trang thư ký", en: "Secretary" },
  "sec.program": { vi: "Chương trình trực tiếp", en: "Live program" },
  "sec.sound": { vi: "Bật/tắt tiếng", en: "Sound on/off" },
  "sec.notes": { vi: "Ghi chép cuộc họp", en: "Meeting notes" },
  "sec.noteLabel": { vi: "Nội dung ghi chép", en: "Note" },
  "sec.noteAdd": { vi: "Ghi vào biên bản", en: "Add to the minutes" },
  "sec.noNotes": { vi: "Chưa có ghi chép.", en: "No notes yet." },
  "sec.questions": { vi: "Ý kiến của người dân", en: "Citizens' questions" },
  "sec.noQuestions": { vi: "Chưa có ý kiến nào.", en: "No questions yet." },
  "sec.status": { vi: "Trạng thái", en: "Status" },
  "sec.answer": { vi: "Trả lời, ghi chú", en: "Answer, note" },
  "sec.saved": { vi: "Đã lưu.", en: "Saved." },
  "sec.notRecorded": { vi: "Không ghi hình theo đề nghị của người dân", en: "Not recorded at the citizen's wish" },
  "sec.cut": { vi: "bị ngắt", en: "cut off" },
  "sec.minutes": { vi: "Biên bản các cuộc họp", en: "Minutes of the meetings" },
  "sec.noMeetings": { vi: "Chưa có cuộc họp nào.", en: "No meetings yet." },
  "sec.open": { vi: "đang họp", en: "in progress" },
  "sec.registerLink": { vi: "Sổ theo dõi câu hỏi", en: "Question register" },
  "sec.accessLog": { vi: "Nhật ký truy cập hồ sơ", en: "Access log" },
  "sec.when": { vi: "Thời gian", en: "When" },
  "sec.who": { vi: "Ai", en: "Who" },
  "sec.action": { vi: "Việc", en: "Action" },
  "sec.target": { vi: "Hồ sơ", en: "Record" },
  "sec.viewed": { vi: "Xem", en: "Viewed" },
  "sec.exported": { vi: "Xuất hồ sơ", en: "Exported" },
  "sec.downloaded": { vi: "Tải về", en: "Downloaded" },
  "sec.deleted": { vi: "Xóa", en: "Deleted" },
  "sec.denied": { vi: "Bị từ chối", en: "Refused" },
  "sec.edited": { vi: "Sửa", en: "Edited" },
  "role.chair": { vi: "Chủ tọa", en: "Chair" },
  "role.secretary": { vi: "Thư ký", en: "Secretary" },
  "role.hall": { vi: "Nhà văn hóa thôn", en: "Village hall" },
  "role.viewer": { vi: "Người xem", en: "Viewer" },
  "role.retention": { vi: "Tự động xóa theo thời hạn", en: "Retention purge" },
  "status.open": { vi: "Chưa trả lời", en: "Not answered" },
  "status.answered": { vi: "Đã trả lời", en: "Answered" },
  "status.follow-up": { vi: "Cần theo dõi", en: "Needs follow-up" },
  "status.forwarded": { vi: "Chuyển cấp trên", en: "Forwarded" },
  "reg.title": { vi: "Sổ theo dõi câu hỏi của người dân", en: "Citizens' question register" },
  "reg.filter": { vi: "Lọc theo trạng thái", en: "Filter by status" },
  "reg.all": { vi: "Tất cả", en: "All" },
  "reg.unsettled": { vi: "Chưa xong", en: "Not yet answered" },
  "reg.overdue": { vi: "Quá hạn", en: "Overdue" },
  "reg.xlsx": { vi: "Tải Excel (XLSX)", en: "Download Excel (XLSX)" },
  "reg.csv": { vi: "Tải CSV", en: "Download CSV" },
  "reg.meeting": { vi: "Cuộc họp", en: "Meeting" },
  "reg.asked": { vi: "Ngày hỏi", en: "Asked" },
  "reg.hall": { vi: "Thôn", en: "Hall" },
  "reg.name": { vi: "Người hỏi", en: "Asked by" },
  "reg.topic": { vi: "Nội dung", en: "Topic" },
  "reg.due": { vi: "Hạn trả lời", en: "Due" },
  "reg.empty": { vi: "Không có câu hỏi nào.", en: "No questions." },
  "reg.overdueBy": { vi: "quá hạn {n} ngày", en: "{n} days overdue" },
  "reg.summary": { vi: "{n} câu hỏi · {open} chưa trả lời · {overdue} quá hạn",
    en: "{n} questions · {open} not answered · {overdue} overdue" },
};

export const lang = pageParams().lang;

/** The string for `key` in the page language, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const entry = STRINGS[key];
  if (!entry) return key;
  return entry[lang].replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** Plain words for a failed WHIP/WHEP request or getUserMedia call. */
export function describeError(err) {
  const code = err?.code && STRINGS["err." + err.code] ? err.code : err?.name;
  if (code && STRINGS["err." + code]) return t("err." + code);
  if (err?.status) return t("err.other", { status: err.status });
  return t("err.media");
}

/** Plain words for an `error` message of the socket. */
export function describeWireError(code) {
  return t(STRINGS["wire." + code] ? "wire." + code : "wire.other");
}

/** Fill every [data-i18n] element under `root`, and mark the document's language. */
export function localize(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  const title = root.querySelector("title[data-i18n]");
  if (title) document.title = title.textContent;
}

/** The string for `key` in both languages, Vietnamese first: for the public board. */
export function bilingual(key, vars = {}) {
  const entry = STRINGS[key];
  if (!entry) return [key, key];
  const fill = (text) => text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  return [fill(entry.vi), fill(entry.en)];
}
