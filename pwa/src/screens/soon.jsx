// Place holder for the phase-2 screens (donations and receipts, Time Bank, approvals,
// fund balances, notifications): routed already, so links made now keep working.
import { t } from '../i18n.js';

export function Soon() {
  return (
    <main class="screen">
      <h1>{t('soon.title')}</h1>
      <p class="muted">{t('soon.body')}</p>
      <a class="button" href="#/events">{t('event.back')}</a>
    </main>
  );
}
