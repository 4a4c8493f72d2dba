// Training (#/training...; everyone), registered from src/areas/index.js: lectures and
// courses, sign-up and the waiting list, the entry code, the door (staff), feedback.
// Reached from the Service tab (服务), not a tab of its own.
import { TrainingDetail } from './detail.jsx';
import { DoorScreen } from './door.jsx';
import { TrainingForm } from './form.jsx';
import { TrainingList } from './list.jsx';
import { TRAINING_OVERLAY, TRAINING_TYPES } from './overlay.js';
import { TRAINING_DESCRIBERS, TRAINING_STRINGS } from './strings.js';
import './training.css';

export const TRAINING_AREA = {
  name: 'training',
  types: TRAINING_TYPES,
  overlay: TRAINING_OVERLAY,
  describers: TRAINING_DESCRIBERS,
  strings: TRAINING_STRINGS,
  icons: {},
  routes: [
    { pattern: /^\/training$/, screen: TrainingList, tab: 'hours' },
    { pattern: /^\/training\/new$/, screen: TrainingForm, tab: 'hours', minRole: 'staff' },
    // Where the reminder and the seat notification lead (server/notify/kinds.py).
    { pattern: /^\/training\/([0-9a-f-]{36})$/, screen: TrainingDetail, tab: 'hours' },
    { pattern: /^\/training\/([0-9a-f-]{36})\/edit$/, screen: TrainingForm, tab: 'hours', minRole: 'staff' },
    { pattern: /^\/training\/([0-9a-f-]{36})\/door$/, screen: DoorScreen, tab: 'hours', minRole: 'staff' },
  ],
  nav: [],
};
