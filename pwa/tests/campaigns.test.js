// Unit tests of the phone's campaign choice (run by `npm test`): the same rules as the
// server's campaign_for_gift (server/domain/campaigns.py, docs/campaigns.md).
import assert from 'node:assert/strict';
import test from 'node:test';
import { defaultCampaign, hlcDate, openCampaigns, shanghaiDay } from '../src/areas/donations/campaigns.js';

const station = { code: 'TH-001', district: '天河区' };
const campaign = (id, fields) => ({
  id, district: '天河区', stations: [], fund_ids: ['f1'], project_ids: [], starts_on: '2026-09-01',
  ends_on: '2026-09-30', ...fields,
});
const viewOf = (...rows) => ({ campaign: new Map(rows.map((c) => [c.id, c])) });

test('the day is counted in Asia/Shanghai, from the HLC', () => {
  assert.equal(shanghaiDay(new Date('2026-09-30T16:30:00Z')), '2026-10-01');
  assert.equal(shanghaiDay(hlcDate('1790000000000:0001:phone')), shanghaiDay(new Date(1790000000000)));
  assert.equal(shanghaiDay(new Date(NaN)).length, 10); // an unknown time is today, not a crash
});

test('open campaigns: in the period, at the station (listed, or every station of the district)', () => {
  const view = viewOf(campaign('a'), campaign('b', { stations: ['TH-002'] }), campaign('c', { district: '越秀区' }),
    campaign('d', { ends_on: '2026-09-04' }));
  assert.deepEqual(openCampaigns(view, station, '2026-09-05').map((c) => c.id), ['a']);
});

test('the default: the event\'s, else the one open that raises for the gift\'s fund, else none', () => {
  const view = viewOf(campaign('a'), campaign('b', { fund_ids: ['f2'] }));
  assert.equal(defaultCampaign(view, station, { campaign: 'b' }, 'f1', null, '2026-09-05'), 'b');
  assert.equal(defaultCampaign(view, station, null, 'f1', null, '2026-09-05'), 'a');
  assert.equal(defaultCampaign(view, station, null, 'f2', null, '2026-09-05'), 'b');
  assert.equal(defaultCampaign(view, station, null, 'f3', null, '2026-09-05'), null);
  assert.equal(defaultCampaign(view, station, null, null, null, '2026-09-05'), null); // two fit: choose
  assert.equal(defaultCampaign(view, station, null, 'f1', null, '2026-10-05'), null); // closed
});
