// The console's start: the sections this person may use (an office screen shows the
// same menu beside every section).
import { t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { ConsoleMenu } from './ui.jsx';

export function ConsoleHome({ app }) {
  const me = app.meta.me;
  return (
    <main class="screen console home" data-testid="admin-home">
      <div class="console-body">
        <h1>{t('admin.title')}</h1>
        <p class="muted">{t('admin.intro', { name: me?.name || me?.user || '', role: t(`role.${me?.role}`) })}</p>
        {atLeast(me, 'manager') && (
          <a class="console-dashboard" href="#/dashboard" data-testid="admin-link-dashboard">
            <strong>{t('dash.link')}</strong>
            <span class="muted fine">{t('dash.link.hint')}</span>
          </a>
        )}
        <ConsoleMenu app={app} />
      </div>
    </main>
  );
}
