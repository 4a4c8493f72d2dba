// A station's brand service project (#/projects/new): with its fund's support, a category
// (扶老、助困、恤孤、助残、社区治理), a public summary written by staff, indicators with
// targets and milestones whose weights sum to 100 (the project's progress is weighted by
// them). It also makes the fund's project, so tranches and gifts can name it.
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { go } from '../../router.js';
import { act } from '../../state.js';
import { newId } from '../../sync/ids.js';
import { useDraft, useSubmit } from '../../ui/forms.js';
import { DraftNote, FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { BRAND_CATEGORIES, fundsForStation, nextKey, parseNumber, stationsForBrand } from './model.js';
import { BackTo } from './parts.jsx';

const blankMilestone = () => ({ title: '', weight: '', due: '' });

export function ProjectCreate({ app }) {
  const me = app.meta.me;
  const stations = stationsForBrand(me, [...app.view.station.values()]).sort((a, b) => a.code.localeCompare(b.code));
  const allFunds = [...app.view.fund.values()];
  // the station's own fund first, then its district's, then the city's
  const rank = (x) => (x.station ? 0 : x.district ? 1 : 2);
  const fundsOf = (code) => fundsForStation(allFunds, app.view.station.get(code)).sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  const firstStation = stations[0]?.code || '';
  const blank = { station: firstStation, fund: fundsOf(firstStation)[0]?.id || '', category: 'elderly', name: '', summary: '', indicators: [{ key: 'i1', name: '', unit: '', target: '' }], milestones: [blankMilestone()] };
  const [f, setF] = useState(blank);
  const form = useSubmit();
  const draft = useDraft(me, 'service_project.create', f, setF, blank);
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  const setIndicator = (i, patch) => set({ indicators: f.indicators.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  const setMilestone = (i, patch) => set({ milestones: f.milestones.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  // the records may arrive after the form opened: the first station and its first fund then
  const station = stations.some((x) => x.code === f.station) ? f.station : firstStation;
  const funds = fundsOf(station);
  const fund = funds.some((x) => x.id === f.fund) ? f.fund : funds[0]?.id || '';
  const weights = f.milestones.reduce((s, m) => s + (parseNumber(m.weight) || 0), 0);

  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (!station) return form.fail(t('sp.need_station'));
      if (!fund) return form.fail(t('sp.need_fund'));
      if (!f.name.trim()) return form.showFields({ name: { zh: '请填写项目名称', en: 'Enter the project name' } });
      const indicators = [];
      for (const [i, x] of f.indicators.entries()) {
        if (!x.name.trim() && !x.target.trim()) continue;
        const target = parseNumber(x.target);
        if (!x.name.trim() || !x.unit.trim() || target === null || target < 0) {
          return form.showFields({ [`indicators.${i}`]: { zh: '每个指标请填写名称、目标值和单位', en: 'Give each indicator a name, a target and a unit' } });
        }
        indicators.push({ key: x.key, name: x.name.trim(), unit: x.unit.trim(), target });
      }
      const milestones = [];
      for (const [i, x] of f.milestones.entries()) {
        if (!x.title.trim() && !x.weight.trim()) continue;
        const weight = parseNumber(x.weight);
        if (!x.title.trim() || weight === null || !Number.isInteger(weight) || weight < 1) {
          return form.showFields({ [`milestones.${i}`]: { zh: '每个里程碑请填写名称和权重(整数)', en: 'Give each milestone a title and a whole-number weight' } });
        }
        milestones.push({ id: newId(), title: x.title.trim(), weight, due: x.due || null });
      }
      if (milestones.length && milestones.reduce((s, m) => s + m.weight, 0) !== 100) {
        return form.showFields({ milestones: { zh: `里程碑权重合计须为 100(现为 ${weights})`, en: `Milestone weights must add up to 100 (now ${weights})` } });
      }
      await act('service_project.create', {
        id: intent.id, fund_id: fund, station, category: f.category, name: f.name.trim(), summary: f.summary.trim(), indicators, milestones,
      }, 1, { key: intent.key });
      await draft.done();
      go(`/projects/${intent.id}?saved=created`);
      return true;
    });
  }

  return (
    <main class="screen project-form" data-testid="project-create">
      <BackTo href="#/projects" label={t('sp.title')} />
      <h1>{t('sp.new')}</h1>
      {stations.length === 0 ? <p class="notice">{t('sp.no_station')}</p> : (
        <form onSubmit={submit}>
          <DraftNote draft={draft} />
          {stations.length > 1 && (
            <label>{t('sp.station')}<select name="station" value={station} onChange={(e) => set({ station: e.currentTarget.value, fund: fundsOf(e.currentTarget.value)[0]?.id || '' })}>
              {stations.map((x) => <option key={x.code} value={x.code}>{x.name}</option>)}
            </select></label>
          )}
          {funds.length === 0 && <p class="notice" data-testid="no-fund">{t('sp.no_fund')}</p>}
          {funds.length > 0 && <label>{t('sp.fund')}<select name="fund" value={fund} onChange={(e) => set({ fund: e.currentTarget.value })}>
            {funds.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
          </select></label>}
          <FieldError fields={form.fields} path="fund_id" />
          <label>{t('sp.category')}<select name="category" value={f.category} onChange={(e) => set({ category: e.currentTarget.value })}>
            {BRAND_CATEGORIES.map((c) => <option key={c} value={c}>{t(`sp.cat.${c}`)}</option>)}
          </select></label>
          <label>{t('sp.name')}<input name="name" value={f.name} onInput={(e) => set({ name: e.currentTarget.value })} maxLength={100} /></label>
          <FieldError fields={form.fields} path="name" />
          <label>{t('sp.summary')}<textarea name="summary" value={f.summary} onInput={(e) => set({ summary: e.currentTarget.value })} /></label>
          <p class="muted fine">{t('sp.summary_hint')}</p>
          <FieldError fields={form.fields} path="summary" />

          <fieldset class="rows" data-testid="indicator-rows">
            <legend>{t('sp.indicators')}</legend>
            {f.indicators.map((x, i) => (
              <div class="sub-row" key={x.key} data-testid="indicator-row">
                <label class="grow">{t('sp.indicator_name')}<input name={`ind-name-${i}`} value={x.name} onInput={(e) => setIndicator(i, { name: e.currentTarget.value })} maxLength={100} /></label>
                <div class="row">
                  <label>{t('sp.target')}<input name={`ind-target-${i}`} inputMode="decimal" value={x.target} onInput={(e) => setIndicator(i, { target: e.currentTarget.value })} /></label>
                  <label>{t('sp.unit')}<input name={`ind-unit-${i}`} value={x.unit} onInput={(e) => setIndicator(i, { unit: e.currentTarget.value })} maxLength={20} /></label>
                </div>
                <FieldError fields={form.fields} path={`indicators.${i}`} />
                {f.indicators.length > 1 && <button type="button" class="small" onClick={() => set({ indicators: f.indicators.filter((_, j) => j !== i) })}>{t('sp.remove_row')}</button>}
              </div>
            ))}
            <button type="button" class="block" data-testid="add-indicator"
              onClick={() => set({ indicators: [...f.indicators, { key: nextKey(f.indicators.map((x) => x.key)), name: '', unit: '', target: '' }] })}>{t('sp.add_indicator')}</button>
          </fieldset>

          <fieldset class="rows" data-testid="milestone-rows">
            <legend>{t('sp.milestones_plan')} · <span class={weights === 100 ? 'ok' : 'bad'} data-testid="weight-sum">{t('sp.weight_sum', { n: weights })}</span></legend>
            {f.milestones.map((x, i) => (
              <div class="sub-row" key={i} data-testid="milestone-row">
                <label>{t('sp.milestone_title')}<input name={`ms-title-${i}`} value={x.title} onInput={(e) => setMilestone(i, { title: e.currentTarget.value })} maxLength={100} /></label>
                <div class="row">
                  <label>{t('sp.weight')}<input name={`ms-weight-${i}`} type="number" inputMode="numeric" min="1" max="100" value={x.weight} onInput={(e) => setMilestone(i, { weight: e.currentTarget.value })} /></label>
                  <label>{t('sp.due_date')}<input name={`ms-due-${i}`} type="date" value={x.due} onInput={(e) => setMilestone(i, { due: e.currentTarget.value })} /></label>
                </div>
                <FieldError fields={form.fields} path={`milestones.${i}`} />
                {f.milestones.length > 1 && <button type="button" class="small" onClick={() => set({ milestones: f.milestones.filter((_, j) => j !== i) })}>{t('sp.remove_row')}</button>}
              </div>
            ))}
            <FieldError fields={form.fields} path="milestones" />
            <button type="button" class="block" data-testid="add-milestone" onClick={() => set({ milestones: [...f.milestones, blankMilestone()] })}>{t('sp.add_milestone')}</button>
          </fieldset>
          <FormStatus form={form} shown={['fund_id', 'name', 'summary', 'indicators', 'milestones', 'category']} showSaved={false} />
          <div class="sticky-save"><SaveButton form={form} label={t('sp.create')} testid="save-project" /></div>
        </form>
      )}
    </main>
  );
}
