// The projects list (#/projects): brand service projects and funded micro-venture projects,
// each with its weighted progress; the station's own first. Staff start a brand project.
import { t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { stationsForBrand } from './model.js';
import { ProgressBar } from './parts.jsx';

const ORDER = { active: 0, closing: 1, closed: 2 };

export function ProjectList({ app }) {
  const me = app.meta.me;
  const near = (p) => (p.station && p.station === me?.station ? 0 : p.district && p.district === me?.district ? 1 : 2);
  const projects = [...app.view.service_project.values()]
    .sort((a, b) => (ORDER[a.status] ?? 3) - (ORDER[b.status] ?? 3) || near(a) - near(b) || a.name.localeCompare(b.name));
  const mayCreate = atLeast(me, 'staff') && stationsForBrand(me, [...app.view.station.values()]).length > 0;
  const open = projects.filter((p) => p.status !== 'closed');
  const closed = projects.filter((p) => p.status === 'closed');
  return (
    <main class="screen projects">
      <h1>{t('sp.title')}</h1>
      {mayCreate && <a class="button primary block" href="#/projects/new" data-testid="new-project">+ {t('sp.new')}</a>}
      {projects.length === 0 && <p class="muted" data-testid="no-projects">{t(app.meta.last_sync_at ? 'sp.none' : 'events.loading')}</p>}
      <ul class="cards">{open.map((p) => <ProjectCard key={p.id} app={app} p={p} />)}</ul>
      {closed.length > 0 && (
        <details class="history">
          <summary>{t('sp.closed_list', { n: closed.length })}</summary>
          <ul class="cards">{closed.map((p) => <ProjectCard key={p.id} app={app} p={p} />)}</ul>
        </details>
      )}
    </main>
  );
}

function ProjectCard({ app, p }) {
  const station = p.station && app.view.station.get(p.station);
  return (
    <li>
      <a class="card project-card" href={`#/projects/${p.id}`} data-testid="project-card" data-id={p.id}>
        <span class="title">{p.name}</span>
        <span class="tags">
          <span class={`tag kind-${p.kind}`}>{t(`sp.kind.${p.kind}`)}</span>
          <span class="tag">{t(`sp.cat.${p.category}`)}</span>
          {p.status !== 'active' && <span class="tag waiting">{t(`sp.status.${p.status}`)}</span>}
          {p.pending && <span class="tag pending">{t('events.pending')}</span>}
        </span>
        <span class="muted project-where">{station?.name || p.station || p.district || ''}</span>
        <ProgressBar value={p.progress} label={t('sp.progress')} testid="project-progress" />
      </a>
    </li>
  );
}
