// Mounts the board's panels on the secretary page: announcements and the meeting schedule.

import { pageParams } from "./protocol.js";
import { localize } from "./i18n.js";
import { mountAnnouncementsPanel } from "./announcements-panel.js";
import { mountSchedulePanel } from "./schedule-panel.js";

const { key } = pageParams();
localize();
const announcements = document.getElementById("announcements-panel");
const schedule = document.getElementById("schedule-panel");
if (announcements) mountAnnouncementsPanel(announcements, { key });
if (schedule) mountSchedulePanel(schedule, { key });
